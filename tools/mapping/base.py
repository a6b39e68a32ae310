"""The mapping seam: what a mapper returns, and what the graph may rely on.

Every assignment carries the rule (or retrieval) that produced it and a human reason, because
the review page and the audit record must explain each group a person was put in; what a
mapper could not place goes to ``unresolved`` instead of being silently dropped, so review
policy can route it to a person or an AI mapper.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from core.catalog import GroupKind
from core.employee import Employee


class Assignment(BaseModel):
    """One catalog group a worker should be in, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    group_id: str
    kind: GroupKind
    reason: str = Field(description="Human-readable, free of personal data.")
    rule: str = Field(description="Which rule matched, e.g. 'departments[Engineering]'.")
    due_date: date | None = Field(None, description="Curricula only: when completion is due.")
    confidence: float = Field(1.0, ge=0.0, le=1.0, description="1.0 for rules.")
    evidence: list[str] = Field(
        default_factory=list, description="What the choice rests on: labels, approved titles."
    )


class MappingDecision(BaseModel):
    """A mapper's full answer for one worker against one catalog version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mapper: str
    catalog_version: str
    assignments: list[Assignment] = Field(default_factory=list)
    unresolved: list[str] = Field(
        default_factory=list, description="Attributes the mapper could not place."
    )
    confidence: float = Field(ge=0.0, le=1.0)
    held_for_review: list[Assignment] = Field(
        default_factory=list,
        description="AI proposals not applied: they wait for a reviewer.",
    )
    flags: list[str] = Field(
        default_factory=list,
        description="Why a person should look: low_confidence, prompt_injection, ...",
    )
    provenance: dict[str, Any] = Field(
        default_factory=dict,
        description="Model id, prompt ref, token usage, memory hit, rationale: for audit.",
    )

    @property
    def group_ids(self) -> list[str]:
        return [a.group_id for a in self.assignments]


@runtime_checkable
class Mapper(Protocol):
    """Anything that can place a worker in the catalog.

    ``manages_others`` is passed in rather than read from the record because only the whole
    roster knows who reports to whom.
    """

    name: str

    def map(self, employee: Employee, *, manages_others: bool) -> MappingDecision: ...
