"""State and run context of the provisioning graph.

State values are plain JSON so checkpoints stay readable and portable across versions;
nodes validate them back into models at the edge. The context is the service's
collaborators (`agents.services.Services`: LMS, mappers, HRIS) and the claim, never
checkpointed.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TypedDict

from agents.services import Services
from core import inbox, vault
from core.employee import Employee, HRISEvent
from core.inbox import Claim
from core.run_context import run_context
from tools.lms.models import LMSAccount


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


@dataclass
class BatchShared:
    """What the runs of one batch share. Reads made together before their steps ask one by
    one: the LMS accounts (under the batch's claims, whose leases keep every other worker
    off these people), the managers' names, who manages others, and each person's last
    applied record; a key that is absent was not read, and the step reads it itself. And
    the vault values the runs seal, kept to be stored together (`sealings`; ``None``: a
    step stores its own at once)."""

    accounts: dict[str, LMSAccount | None] = field(default_factory=dict)
    manager_names: dict[str, list[str]] = field(default_factory=dict)
    managers: set[str] | None = None  # of the batch's people, those with active reports
    snapshots: dict[str, Employee | None] = field(default_factory=dict)
    fetched: dict[str, Employee] = field(default_factory=dict)  # thin events' HRIS records
    sealings: list[vault.Sealing] | None = None


@dataclass(frozen=True)
class ProvisioningContext:
    """A run's collaborators (never checkpointed) and the inbox claim it works for."""

    services: Services
    claim: Claim
    shared: BatchShared = field(default_factory=BatchShared, repr=False, compare=False)
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
        """`core.inbox.manager_names`, read once per run or batch (four steps need them;
        each read is two queries and a record to validate)."""
        key = employee.manager_external_id or ""
        names = self.shared.manager_names
        if key not in names:
            names[key] = inbox.manager_names(self.services.engine, employee)
        return names[key]

    def record_of(self, event: HRISEvent) -> Employee:
        """The event's record, fetched from the HRIS for a thin event: once per claim, even
        when a run handed over by the batch lane starts again."""
        if event.employee is not None:
            return event.employee
        fetched = self.shared.fetched
        if event.employee_external_id not in fetched:
            fetched[event.employee_external_id] = self.services.hris.fetch(
                source=event.source, external_id=event.employee_external_id
            )
        return fetched[event.employee_external_id]

    def keep_sealed(self, *, subject: str, label: str, plaintext: vault.Plaintext) -> None:
        """Into the vault: at once, or with the rest of the batch's."""
        pending = self.shared.sealings
        if pending is not None:
            pending.append(vault.Sealing(subject=subject, label=label, plaintext=plaintext))
            return
        vault.store(
            self.services.engine,
            master_key=self.services.vault_keys.master,
            subject=subject,
            label=label,
            plaintext=plaintext,
        )

    def account(self, external_id: str) -> LMSAccount | None:
        """The person's LMS account as this claim first reads it."""
        accounts = self.shared.accounts
        if external_id not in accounts:
            accounts[external_id] = self.services.lms.read_account(external_id)
        return accounts[external_id]

    def manages_others(self, external_id: str) -> bool:
        managers = self.shared.managers
        if managers is None:
            return inbox.manages_others(self.services.engine, external_id=external_id)
        return external_id in managers

    def last_applied(self, external_id: str) -> Employee | None:
        """`core.inbox.latest_snapshot`: the record the last applied event held."""
        snapshots = self.shared.snapshots
        if external_id not in snapshots:
            snapshots[external_id] = inbox.latest_snapshot(
                self.services.engine, external_id=external_id
            )
        return snapshots[external_id]


@dataclass
class BatchRun:
    """One event's run inside a batch: its context, its state so far, and the ids its log
    lines carry (as a run of its own would)."""

    context: ProvisioningContext
    state: ProvisioningState
    run_id: str
    subject: str

    def ids(self) -> AbstractContextManager[None]:
        return run_context(
            receipt_id=self.context.claim.receipt_id, run_id=self.run_id, subject=self.subject
        )


def batch_ids(runs: list[BatchRun], *, run_id: str) -> AbstractContextManager[None]:
    """The ids on a log line that belongs to the whole batch (its LMS search and bulk, its
    commit): every run's receipt and pseudonym, comma-separated; a batch of one run logs
    exactly as that run."""
    if len(runs) == 1:
        return runs[0].ids()
    return run_context(
        receipt_id=",".join(r.context.claim.receipt_id for r in runs),
        run_id=run_id,
        subject=",".join(r.subject for r in runs),
    )


class BatchState(TypedDict, total=False):
    """The batch lane's state. Never checkpointed: a batch holds no answer it could not
    recompute (no model is asked in it), and `apply` writes only what the LMS lacks, so a
    batch cut short by a crash is simply run again when its leases run out."""

    runs: list[BatchRun]  # still in the batch
    handed_over: list[BatchRun]  # to finish on their own graph run: a review or an AI step
    failed: list[tuple[BatchRun, Exception]]  # for the worker's retry policy, one by one
    finished: list[str]  # receipt ids completed
