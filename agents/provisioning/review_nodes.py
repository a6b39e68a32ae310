"""The review checkpoint of the provisioning graph: assess the change against the policy,
and pause at ``review`` until people decide.

``review`` calls ``interrupt()`` with an Agent-Inbox-compatible ``HumanInterrupt`` and
understands the Agent Inbox ``HumanResponse`` shapes. A node that interrupts runs again from
its top when resumed, so everything before ``interrupt()`` here is pure.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agents.policy.assess import ChangeFacts, assess
from agents.policy.planning import ProvisioningPlan, make_plan
from agents.provisioning.state import ProvisioningContext, ProvisioningState
from agents.provisioning.title_decision import KEPT_RULE
from core.catalog import Catalog
from core.employee import Employee
from tools.mapping.base import Assignment, MappingDecision
from tools.mapping.rules import catalog_assignment


def _plan(
    state: ProvisioningState, ctx: ProvisioningContext, assignments: list[Assignment]
) -> ProvisioningPlan:
    user = state.get("lms_user")
    return make_plan(
        employee=ctx.employee(state),
        lms_active=None if user is None else bool(user["active"]),
        current_groups=set(state.get("current_groups", [])),
        assignments=assignments,
        catalog=ctx.services.catalog,
    )


def plan(state: ProvisioningState, runtime: Runtime[ProvisioningContext]) -> dict[str, Any]:
    """Two plans: what applies without anyone (``plan``) and the full change including AI
    choices held back (``proposal``), which is what a reviewer would approve."""
    ctx = runtime.context
    decision = MappingDecision.model_validate(state["decision"])
    applied = _plan(state, ctx, decision.assignments)
    if not decision.held_for_review:
        return {"plan": applied.model_dump(mode="json"), "proposal": None}
    full = [a for a in decision.assignments if a.rule != KEPT_RULE] + decision.held_for_review
    return {
        "plan": applied.model_dump(mode="json"),
        "proposal": _plan(state, ctx, full).model_dump(mode="json"),
    }


def assess_change(
    state: ProvisioningState, runtime: Runtime[ProvisioningContext]
) -> dict[str, Any]:
    ctx = runtime.context
    employee = ctx.employee(state)
    decision = MappingDecision.model_validate(state["decision"])
    change = ProvisioningPlan.model_validate(state.get("proposal") or state["plan"])
    previous = ctx.last_applied(employee.external_id)
    facts = ChangeFacts.of(
        change,
        catalog=ctx.services.catalog,
        flags=decision.flags,
        previous_title=previous.title if previous is not None else None,
        title=employee.title,
    )
    result = assess(ctx.services.policy, facts)
    if not result.needs_review:
        return {"review": None}
    return {
        "review": {
            "rules": [f.rule_id for f in result.fired],
            "reasons": {f.rule_id: f.reason for f in result.fired},
            "approvals": result.approvals,
            "due_hours": result.due_hours,
            "on_overdue": result.on_overdue,
        }
    }


def after_assess(state: ProvisioningState) -> Literal["review", "apply"]:
    return "review" if state.get("review") else "apply"


def review(state: ProvisioningState, runtime: Runtime[ProvisioningContext]) -> dict[str, Any]:
    ctx = runtime.context
    change = ProvisioningPlan.model_validate(state.get("proposal") or state["plan"])
    answer = interrupt([review_request(state, change, ctx.services.catalog)])
    response: dict[str, Any] = answer[0] if isinstance(answer, list) else answer
    kind = response.get("type")
    decided = {**(state.get("review") or {}), "by": response.get("decided_by")}
    if kind == "ignore":
        return {"review": {**decided, "decision": "rejected"}}
    if kind == "edit":
        groups = response["args"]["args"]["groups"]
        edited = _plan(state, ctx, _edited_assignments(change, groups, ctx.services.catalog, state))
        return {"plan": edited.model_dump(mode="json"), "review": {**decided, "decision": "edited"}}
    return {"plan": change.model_dump(mode="json"), "review": {**decided, "decision": "approved"}}


def after_review(state: ProvisioningState) -> Literal["apply", "record"]:
    return "record" if (state.get("review") or {}).get("decision") == "rejected" else "apply"


def _edited_assignments(
    change: ProvisioningPlan, groups: list[str], catalog: Catalog, state: ProvisioningState
) -> list[Assignment]:
    """Keep the reasons of groups the reviewer left in; groups they added say so."""
    hire = Employee.model_validate(state["employee"]).hire_date
    by_id = {a.group_id: a for a in change.assignments}
    return [
        by_id.get(group_id)
        or catalog_assignment(
            catalog, group_id, rule="review:edit", reason="set by a reviewer", hire_date=hire
        )
        for group_id in groups
        if group_id in catalog.by_id
    ]


def review_request(
    state: ProvisioningState, change: ProvisioningPlan, catalog: Catalog
) -> dict[str, Any]:
    """The ``HumanInterrupt``: only catalog ids, the scrubbed model view and a pseudonym."""
    policy = state.get("review") or {}
    decision = state["decision"]
    title = (decision.get("provenance") or {}).get("title") or {}
    managed = set(catalog.by_id)
    before = sorted(set(state.get("current_groups", [])) & managed)
    after = sorted(change.desired_groups)
    lines = [f"**{state['event']['type']}**: {change.user_action.value} account"]
    lines += [f"- rule `{rid}`: {reason}" for rid, reason in policy.get("reasons", {}).items()]
    if change.add_groups:
        lines.append("- adds: " + ", ".join(change.add_groups))
    if change.remove_groups:
        lines.append("- removes: " + ", ".join(change.remove_groups))
    if title:
        lines.append(
            f"- AI ({title.get('provenance', {}).get('mapper', '?')}): title "
            f"'{title.get('title', '')}' -> {title.get('role_id') or 'no role'} "
            f"(confidence {float(title.get('confidence', 0)):.2f}): {title.get('rationale', '')}"
        )
    return {
        "action_request": {
            "action": "provision",
            "args": {
                "groups": after,
                "user_action": change.user_action.value,  # state stays plain JSON
                "add_groups": change.add_groups,
                "remove_groups": change.remove_groups,
                "before": before,
                "after": after,
                "view": state.get("model_view") or {},
                "rules": policy.get("rules", []),
                "reasons": policy.get("reasons", {}),
                "required_approvals": policy.get("approvals", 1),
                "due_hours": policy.get("due_hours", 72),
                "on_overdue": policy.get("on_overdue", "escalate"),
                "flags": decision.get("flags", []),
                "role_id": title.get("role_id"),  # the AI's role: the queue shows it
                "confidence": title.get("confidence"),
                "rationale": title.get("rationale"),
                "evidence": title.get("evidence", []),
                "candidates": title.get("candidates", []),
            },
        },
        "config": {
            "allow_accept": True,
            "allow_edit": True,
            "allow_respond": True,
            "allow_ignore": True,
        },
        "description": "\n".join(lines),
    }
