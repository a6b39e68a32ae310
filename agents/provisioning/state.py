"""State and run context of the provisioning graph.

State values are plain JSON so checkpoints stay readable and portable across versions;
nodes validate them back into models at the edge. The context is the service's
collaborators (`agents.services.Services`: LMS, mappers, HRIS) and the claim, never
checkpointed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict

from agents.services import Services
from core import inbox
from core.employee import Employee
from core.inbox import Claim


class ProvisioningState(TypedDict, total=False):
    receipt_id: str
    event: dict[str, Any]
    employee: dict[str, Any]
    lms_user: dict[str, Any] | None
    lms_group_ids: list[str]  # LMS ids of the groups lms_user is a direct member of
    lms_read_by: str  # token of the claim under which lms_user was read (reused within it)
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
    """A run's collaborators (never checkpointed) and the inbox claim it works for."""

    services: Services
    claim: Claim
    _managers: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)
    _employees: dict[int, tuple[Any, Employee]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def employee(self, state: ProvisioningState) -> Employee:
        """The state's employee as a model, validated once per run rather than in each of
        the seven steps that read it (validating an email address alone is ~0.3 ms).

        Keyed by the state value itself: LangGraph hands every step the same object until a
        step writes a new one, and holding it here keeps its id from being reused."""
        raw = state["employee"]
        known = self._employees.get(id(raw))
        if known is not None and known[0] is raw:
            return known[1]
        employee = Employee.model_validate(raw)
        self._employees[id(raw)] = (raw, employee)
        return employee

    def manager_names(self, employee: Employee) -> list[str]:
        """`core.inbox.manager_names`, read once per run (four steps need them; each read
        is two queries and a record to validate)."""
        key = employee.manager_external_id or ""
        if key not in self._managers:
            self._managers[key] = inbox.manager_names(self.services.engine, employee)
        return self._managers[key]
