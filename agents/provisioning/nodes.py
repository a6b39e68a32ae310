"""The nodes of the provisioning graph: plain functions of state returning partial updates.

`apply` re-reads the LMS and writes only what is still missing, so a run resumed after a
crash (LangGraph restarts the interrupted node from its top) never writes twice.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any, Literal

from langgraph.runtime import Runtime

from agents.policy.planning import ProvisioningPlan, wants_active
from agents.provisioning.audit_trail import decision_text, run_entries, run_outcome, screen_run
from agents.provisioning.state import ProvisioningContext, ProvisioningState
from agents.provisioning.title_decision import (
    kept_role_groups,
    needs_role,
    role_assignments,
    with_title_suggestion,
)
from core import inbox, vault
from core.employee import Employee, EmploymentStatus, EventType, HRISEvent
from core.inbox import InboxStatus
from pii.allowlist import AllowedTerms
from pii.firewall import FirewallRefusalError
from pii.identity import RecordIdentity
from tools.lms.models import LMSAccount, LMSUser, UserWrite
from tools.mapping.base import MappingDecision
from tools.mapping.suggestion import RoleSuggestion
from tools.mapping.title_mapping import TitleMapping

log = logging.getLogger(__name__)


def _employee_as_of_event(event: HRISEvent, employee: Employee) -> Employee:
    """The event type wins over a lagging status field: a termination always deactivates."""
    if event.type == EventType.terminated:
        return employee.model_copy(update={"employment_status": EmploymentStatus.inactive})
    if event.type == EventType.rehired and employee.employment_status == EmploymentStatus.inactive:
        return employee.model_copy(update={"employment_status": EmploymentStatus.active})
    return employee


def _catalog_ids(ctx: ProvisioningContext, scim_group_ids: set[str]) -> list[str]:
    by_scim_id = {g.id: external_id for external_id, g in ctx.services.lms_groups.resolve().items()}
    return sorted(by_scim_id[g] for g in scim_group_ids if g in by_scim_id)


def load_state(state: ProvisioningState, runtime: Runtime[ProvisioningContext]) -> dict[str, Any]:
    ctx = runtime.context
    event = HRISEvent.model_validate(state["event"])
    employee = _employee_as_of_event(event, ctx.record_of(event))
    account = ctx.account(employee.external_id)
    return {
        "employee": employee.model_dump(mode="json"),
        "lms_user": asdict(account.user) if account else None,
        "lms_group_ids": sorted(account.group_ids) if account else [],
        "lms_read_by": ctx.claim.token,
        "current_groups": _catalog_ids(ctx, set(account.group_ids)) if account else [],
    }


def _account_now(
    ctx: ProvisioningContext, state: ProvisioningState, external_id: str
) -> LMSAccount | None:
    """The LMS account as it is now. What `load_state` read under this same claim still
    holds (the claim's lease keeps every other worker off this employee), so it is reused;
    a run resumed later (after a crash, or after a review) reads the LMS again."""
    if state.get("lms_read_by") != ctx.claim.token:
        return ctx.services.lms.read_account(external_id)
    user = state.get("lms_user")
    if user is None:
        return None
    return LMSAccount(user=LMSUser(**user), group_ids=frozenset(state.get("lms_group_ids", [])))


def scrub(state: ProvisioningState, runtime: Runtime[ProvisioningContext]) -> dict[str, Any]:
    """Build the only view of the record a model may ever see, and prove it is clean.

    A firewall refusal is not an error: the run goes on without a model view, so no AI step
    can use it and the change is left for human review.
    """
    ctx = runtime.context
    employee = ctx.employee(state)
    guarded = ctx.services.pii.view_for_model(employee, manager_names=ctx.manager_names(employee))
    if guarded.placeholders:  # kept encrypted so an admin can reveal what was hidden
        ctx.keep_sealed(
            subject=vault.pseudonym(employee.external_id, secret=ctx.services.vault_keys.pseudonym),
            label=f"{ctx.claim.receipt_id}:placeholders",
            plaintext=guarded.placeholders,
        )
    return {"model_view": guarded.fields, "pii": guarded.report}


def map_roles(state: ProvisioningState, runtime: Runtime[ProvisioningContext]) -> dict[str, Any]:
    ctx = runtime.context
    employee = ctx.employee(state)
    manages_others = ctx.manages_others(employee.external_id)
    decision = ctx.services.mapper.map(employee, manages_others=manages_others)
    return {"decision": decision.model_dump(mode="json"), "manages_others": manages_others}


def after_mapping(
    state: ProvisioningState, runtime: Runtime[ProvisioningContext]
) -> Literal["map_title", "infer_skills"]:
    """AI is asked only for what the rules left open: an active person with no role."""
    employee = runtime.context.employee(state)
    if runtime.context.services.titles is None or not wants_active(employee) or not employee.title:
        return "infer_skills"
    decision = MappingDecision.model_validate(state["decision"])
    return "map_title" if needs_role(decision) else "infer_skills"


def infer_skills(state: ProvisioningState, runtime: Runtime[ProvisioningContext]) -> dict[str, Any]:
    """Place the profile's skills on taxonomy concepts, from the scrubbed view only: a
    record the firewall refused has no view, and its skills stay unplaced."""
    skills = runtime.context.services.skills
    view = state.get("model_view") or {}
    texts = [view[key] for key in sorted(view, key=_item_order) if key.startswith("skills.")]
    if skills is None or not texts:
        return {"skills": []}
    return {"skills": [d.model_dump(mode="json") for d in skills.map(texts)]}


def _item_order(key: str) -> tuple[str, int]:
    name, _, item = key.partition(".")
    return name, int(item) if item.isdigit() else -1


def map_title(state: ProvisioningState, runtime: Runtime[ProvisioningContext]) -> dict[str, Any]:
    """Place the scrubbed title; apply it only when policy allows, else hold it for review."""
    ctx = runtime.context
    titles = ctx.services.titles
    assert titles is not None  # routed here only when configured
    employee = ctx.employee(state)
    decision = MappingDecision.model_validate(state["decision"])
    kept = kept_role_groups(
        ctx.services.catalog,
        titles.directory,
        state.get("current_groups", []),
        hire_date=employee.hire_date,
    )
    view = state.get("model_view")
    identity = RecordIdentity.from_employee(employee, ctx.manager_names(employee))
    if view is None or not view.get("title"):
        suggestion = RoleSuggestion(
            title="",
            role_id=None,
            confidence=0.0,
            rationale="no model may see this record: the PII firewall refused its view",
            flags=["pii_refusal"],
        )
    else:
        suggestion = titles.suggest(
            view["title"], department=view.get("department"), identity=identity
        )
    apply_it = titles.may_apply(suggestion)
    proposed = role_assignments(
        suggestion, directory=titles.directory, hire_date=employee.hire_date
    )
    decision = with_title_suggestion(
        decision, suggestion, apply=apply_it, proposed=proposed, kept=kept
    )
    if titles.reasoning is not None and suggestion.title:
        _record_reasoning(ctx, titles, employee, suggestion, applied=apply_it, identity=identity)
    return {"decision": decision.model_dump(mode="json")}


def _record_reasoning(
    ctx: ProvisioningContext,
    titles: TitleMapping,
    employee: Employee,
    suggestion: RoleSuggestion,
    *,
    applied: bool,
    identity: RecordIdentity,
) -> None:
    label = (
        ctx.services.catalog.by_id[suggestion.role_id].display_name
        if suggestion.role_id in ctx.services.catalog.by_id
        else "no role"
    )
    subject = vault.pseudonym(employee.external_id, secret=ctx.services.vault_keys.pseudonym)
    prompt = str(suggestion.provenance.get("prompt", ""))
    assert titles.reasoning is not None
    try:
        titles.reasoning.record(
            f"{ctx.claim.receipt_id}:title",
            f"Title '{suggestion.title}' -> {label}. {suggestion.rationale}",
            metadata={
                "receipt_id": ctx.claim.receipt_id,
                "subject": subject,
                "kind": "title",
                "role_id": suggestion.role_id or "",
                "confidence": suggestion.confidence,
                "mapper": str(suggestion.provenance.get("mapper", "")),
                "prompt": prompt,
                "applied": applied,
                "flags": ",".join(suggestion.flags),
            },
            identity=identity,
            # identifiers we minted look like numbers to a pattern scan; they are not data
            allowed=titles.directory.vocabulary.extended([ctx.claim.receipt_id, subject, prompt]),
        )
    except FirewallRefusalError:
        log.warning(
            "reasoning for %s not stored: refused by the PII firewall", ctx.claim.receipt_id
        )


@dataclass(frozen=True)
class GroupChange:
    """The catalog groups one run adds and removes (catalog ids) and their LMS ids."""

    user_id: str
    added: list[str]
    removed: list[str]
    add_ids: list[str]
    remove_ids: list[str]


NOT_IN_LMS = {"user_id": None, "writes": 0, "note": "not in the LMS; nothing to do"}


def user_write(ctx: ProvisioningContext, state: ProvisioningState) -> UserWrite:
    """What the person's LMS user should become, against the account as it is now; the
    connector decides what that takes (create, update, (de)activate, or nothing: a leaver
    who was never in the LMS is not created), for one run or for a batch's."""
    employee = ctx.employee(state)
    return UserWrite(
        employee=employee,
        account=_account_now(ctx, state, employee.external_id),
        active=wants_active(employee),
    )


def write_user(ctx: ProvisioningContext, state: ProvisioningState) -> LMSAccount | None:
    """Create or update the person's LMS user; ``None`` when a leaver was never there."""
    return ctx.services.lms.write_user(user_write(ctx, state))


def group_change(
    ctx: ProvisioningContext, state: ProvisioningState, account: LMSAccount
) -> GroupChange:
    """What the plan changes among the catalog's groups; groups it does not manage stay."""
    groups = ctx.services.lms_groups.resolve()
    member_of = set(_catalog_ids(ctx, set(account.group_ids)))
    desired = ProvisioningPlan.model_validate(state["plan"]).desired_groups
    added = sorted(desired - member_of)
    removed = sorted((member_of & set(ctx.services.catalog.by_id)) - desired)
    return GroupChange(
        user_id=account.user.id,
        added=added,
        removed=removed,
        add_ids=[groups[g].id for g in added],
        remove_ids=[groups[g].id for g in removed],
    )


def applied_change(state: ProvisioningState, change: GroupChange, *, writes: int) -> dict[str, Any]:
    return {
        "user_id": change.user_id,
        "user_action": state["plan"]["user_action"],
        "added_groups": change.added,
        "removed_groups": change.removed,
        "writes": writes,
    }


def apply(state: ProvisioningState, runtime: Runtime[ProvisioningContext]) -> dict[str, Any]:
    ctx = runtime.context
    writes_before = ctx.services.lms.thread_writes
    account = write_user(ctx, state)
    if account is None:
        return {"applied": NOT_IN_LMS}
    change = group_change(ctx, state, account)
    ctx.services.lms.change_memberships(
        change.user_id, add=change.add_ids, remove=change.remove_ids
    )
    writes = ctx.services.lms.thread_writes - writes_before
    return {"applied": applied_change(state, change, writes=writes)}


def _learn_from_review(
    ctx: ProvisioningContext, state: ProvisioningState, employee: Employee, *, reviewer: str
) -> None:
    """The role a person approved for an AI-placed title goes to the approved memory."""
    title = (state["decision"].get("provenance") or {}).get("title") or {}
    if ctx.services.titles is None or not title.get("title"):
        return
    desired = ProvisioningPlan.model_validate(state["plan"]).desired_groups
    roles = sorted(g for g in desired if g in ctx.services.titles.directory)
    if len(roles) != 1:  # no role, or an ambiguous edit: nothing clear to learn
        return
    try:
        ctx.services.titles.learn(
            title["title"],
            roles[0],
            approved_by=reviewer,
            subject=vault.pseudonym(employee.external_id, secret=ctx.services.vault_keys.pseudonym),
            identity=RecordIdentity.from_employee(employee, ctx.manager_names(employee)),
        )
    except FirewallRefusalError:
        log.warning(
            "approved title of %s not learned: refused by the PII firewall", ctx.claim.receipt_id
        )


def _record_decision(
    ctx: ProvisioningContext,
    state: ProvisioningState,
    *,
    subject: str,
    identity: RecordIdentity,
    rejected: bool,
) -> None:
    """Before completion, keyed by receipt: a resumed run rewrites the same document, and
    audit search finds the decision entry of the same receipt."""
    plan = state["plan"]
    vocabulary = (
        ctx.services.titles.directory.vocabulary if ctx.services.titles else AllowedTerms(())
    )
    try:
        ctx.services.reasoning.record(
            f"{ctx.claim.receipt_id}:decision",
            decision_text(ctx, state),
            metadata={
                "receipt_id": ctx.claim.receipt_id,
                "subject": subject,
                "kind": "decision",
                "event_type": state["event"]["type"],
                "rejected": rejected,
                "added": ",".join(plan.get("add_groups", [])),
                "removed": ",".join(plan.get("remove_groups", [])),
            },
            identity=identity,
            allowed=vocabulary.extended(
                [ctx.claim.receipt_id, subject, *ctx.services.catalog.by_id]
            ),
        )
    except FirewallRefusalError:
        log.warning("decision reasoning of %s refused by the PII firewall", ctx.claim.receipt_id)


def completion(ctx: ProvisioningContext, state: ProvisioningState) -> inbox.Completion:
    """How a finished run is written back to the inbox: its outcome and audit entries,
    screened as audit text, and its reasoning queued for indexing."""
    employee = ctx.employee(state)
    review = state.get("review")
    rejected = review is not None and review.get("decision") == "rejected"
    if review is not None and review.get("decision") in ("approved", "edited"):
        _learn_from_review(ctx, state, employee, reviewer=str(review.get("by") or "reviewer"))
    identity = RecordIdentity.from_employee(employee, ctx.manager_names(employee))
    subject = vault.pseudonym(employee.external_id, secret=ctx.services.vault_keys.pseudonym)
    # the outcome outlives the run and the audit outlives erasure: both are built, and
    # screened as audit text, in `agents.provisioning.audit_trail`
    screened = screen_run(ctx, state, subject=subject, identity=identity)
    _record_decision(ctx, state, subject=subject, identity=identity, rejected=rejected)
    return inbox.Completion(
        claim=ctx.claim,
        status=InboxStatus.rejected if rejected else InboxStatus.applied,
        outcome=run_outcome(state, screened),
        employee=employee,
        mapped_as_manager=state.get("manages_others"),
        audit_entries=run_entries(ctx, state, screened),
    )


def log_finished(done: inbox.Completion) -> None:
    # Receipt ids only: logs leave the service and must not carry personal identifiers.
    log.info(
        "%s %s: %s LMS writes",
        done.status.value,
        done.claim.receipt_id,
        done.outcome["applied"].get("writes", 0),
    )


def record(state: ProvisioningState, runtime: Runtime[ProvisioningContext]) -> dict[str, Any]:
    ctx = runtime.context
    done = completion(ctx, state)
    inbox.complete(
        ctx.services.engine,
        claim=done.claim,
        status=done.status,
        outcome=done.outcome,
        employee=done.employee,
        mapped_as_manager=done.mapped_as_manager,
        audit_entries=done.audit_entries,
    )
    log_finished(done)
    return {"outcome": done.outcome}
