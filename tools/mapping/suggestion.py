"""What an AI title mapper returns, whichever engine produced it.

A suggestion always carries its candidates, rationale, evidence and provenance, even when it
abstains, because a reviewer deciding by hand needs exactly that, and the audit must show
what the machine proposed next to what a person decided.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from pii.identity import RecordIdentity


class RoleCandidate(BaseModel):
    model_config = ConfigDict(frozen=True)

    role_id: str
    label: str
    score: float


class RoleSuggestion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(description="The scrubbed title that was mapped.")
    role_id: str | None = Field(description="None: the mapper abstains.")
    confidence: float = Field(ge=0.0, le=1.0)
    rationale: str
    candidates: list[RoleCandidate] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    provenance: dict[str, Any] = Field(default_factory=dict)


class TitleMapper(Protocol):
    """Places one scrubbed title among the catalog's roles.

    ``identity`` is the record's known personal values: a mapper that sends text anywhere
    must pass it through the PII firewall with it."""

    name: str

    def suggest(
        self, title: str, *, department: str | None, identity: RecordIdentity
    ) -> RoleSuggestion: ...
