"""Deciding which catalog groups a worker belongs in.

The provisioning graph talks only to the ``Mapper`` protocol, so the deterministic rules
mapper and the AI mappers (embedded ranker, LLM) are interchangeable and comparable.
"""

from tools.mapping.base import Assignment, Mapper, MappingDecision
from tools.mapping.rules import RulesMapper

__all__ = ["Assignment", "Mapper", "MappingDecision", "RulesMapper"]
