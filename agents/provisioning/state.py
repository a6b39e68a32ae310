"""State and run context of the provisioning graph.

State values are plain JSON so checkpoints stay readable and portable across versions;
nodes validate them back into models at the edge. The context carries the collaborators
(LMS, mapper, HRIS), which are never checkpointed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from sqlalchemy.engine import Engine

from agents.policy.rules import ReviewPolicy
from core.catalog import Catalog
from core.inbox import Claim
from core.vault import VaultKeys
from pii.guard import PIIGuard
from tools.hris.records import EmployeeFetcher
from tools.lms.catalog_groups import CatalogGroups
from tools.lms.scim import ScimLMS
from tools.mapping.base import Mapper
from tools.mapping.skill_mapping import SkillMapping
from tools.mapping.title_mapping import TitleMapping
from vectorstore.reasoning import ReasoningLog


class ProvisioningState(TypedDict, total=False):
    receipt_id: str
    event: dict[str, Any]
    employee: dict[str, Any]
    lms_user: dict[str, Any] | None
    current_groups: list[str]
    model_view: dict[str, str] | None  # the scrubbed fields an AI step may see; None if refused
    pii: dict[str, Any]  # finding counts by type and any firewall refusal, never values
    decision: dict[str, Any]
    skills: list[dict[str, Any]]  # profile skills placed on taxonomy concepts (SkillDecision)
    manages_others: bool
    plan: dict[str, Any]  # what applies without review
    proposal: dict[str, Any] | None  # the full change incl. held AI choices; None if the same
    review: dict[str, Any] | None  # rules fired and, once resumed, the decision
    applied: dict[str, Any]
    outcome: dict[str, Any]


@dataclass(frozen=True)
class ProvisioningContext:
    engine: Engine
    catalog: Catalog
    lms: ScimLMS
    lms_groups: CatalogGroups
    mapper: Mapper
    titles: TitleMapping | None  # None: AI title mapping is off
    reasoning: ReasoningLog  # why each decision was made, searchable for audit
    policy: ReviewPolicy
    pii: PIIGuard
    vault_keys: VaultKeys  # never in state: state is checkpointed
    hris: EmployeeFetcher
    claim: Claim
    skills: SkillMapping | None = None  # None: skill mapping is off
