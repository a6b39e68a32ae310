"""What the provisioning run writes to the audit trail, built from its (plain JSON) state.

Entries hold catalog ids, the pseudonymous subject and scrubbed text only; free text that
came from a model (a rationale) passes the PII firewall as audit text first, and is withheld
rather than stored if it is refused.
"""

from __future__ import annotations

from typing import Any

from agents.state import ProvisioningContext, ProvisioningState
from core.audit import ActorKind, AuditAction, AuditEntryCreate
from core.employee import Employee
from tools.mapping.skill_mapping import recorded_skills
from tools.pii.firewall import Channel, FirewallRefusalError
from tools.pii.identity import RecordIdentity

AGENT = "agent:provisioning"
WITHHELD = "[withheld: refused by the PII firewall]"


def event_key(event_id: str) -> str | None:
    """Internal refresh events are named after a manager's HRIS id: never into the chain."""
    return None if event_id.startswith("refresh:") else event_id[:256]


def _managed(ctx: ProvisioningContext, groups: list[str]) -> list[str]:
    return sorted(g for g in groups if g in ctx.catalog.by_id)


def _title_provenance(
    ctx: ProvisioningContext, title: dict[str, Any] | None, identity: RecordIdentity
) -> dict[str, Any] | None:
    if not title:
        return None
    kept = {k: v for k, v in title.items() if k != "candidates"}
    try:
        ctx.pii.firewall.check(
            [str(kept.get("title", "")), str(kept.get("rationale", ""))],
            identity=identity,
            channel=Channel.audit_text,
            allowed=ctx.titles.directory.vocabulary if ctx.titles else (),
        )
    except FirewallRefusalError:
        kept["title"], kept["rationale"] = WITHHELD, WITHHELD
    return kept


def run_entries(
    ctx: ProvisioningContext,
    state: ProvisioningState,
    *,
    subject: str,
    identity: RecordIdentity,
) -> list[AuditEntryCreate]:
    """The decision, and the LMS write if one happened."""
    employee = Employee.model_validate(state["employee"])
    decision = state["decision"]
    plan = state["plan"]
    review = state.get("review")
    applied = state.get("applied") or {}
    common: dict[str, Any] = {
        "event_id": event_key(ctx.claim.event.event_id),
        "receipt_id": ctx.claim.receipt_id,
        "subject": subject,
        "actor": AGENT,
        "actor_kind": ActorKind.agent,
    }
    provenance = {
        "mapper": decision["mapper"],
        "catalog_version": decision["catalog_version"],
        "rules_fired": sorted({a["rule"] for a in decision.get("assignments", [])}),
        "flags": decision.get("flags", []),
        "title": _title_provenance(ctx, (decision.get("provenance") or {}).get("title"), identity),
        "skills": recorded_skills(state.get("skills") or []),  # scrubbed texts, concepts
        "policy": review,
    }
    entries = [
        AuditEntryCreate(
            **common,
            action=AuditAction.decision_made,
            rule=",".join(review["rules"]) if review and review.get("rules") else None,
            confidence=decision.get("confidence"),
            before={
                "groups": _managed(ctx, state.get("current_groups", [])),
                "active": (state.get("lms_user") or {}).get("active"),
            },
            after={
                "groups": sorted(a["group_id"] for a in plan.get("assignments", [])),
                "user_action": plan["user_action"],
                "active": employee.employment_status.value != "inactive",
            },
            provenance=provenance,
            decision=(
                {"decision": review.get("decision"), "by": review.get("by")}
                if review and review.get("decision")
                else None
            ),
        )
    ]
    if applied.get("user_id") is not None:
        entries.append(
            AuditEntryCreate(
                **common,
                action=AuditAction.lms_write,
                before=None,
                after={
                    "user_action": applied.get("user_action"),
                    "added_groups": applied.get("added_groups", []),
                    "removed_groups": applied.get("removed_groups", []),
                    "writes": applied.get("writes", 0),
                },
                provenance={"catalog_version": decision["catalog_version"]},
            )
        )
    return entries


def review_requested_entry(
    *, event_id: str, receipt_id: str, subject: str, review_id: str, request: dict[str, Any]
) -> AuditEntryCreate:
    args = request["action_request"]["args"]
    return AuditEntryCreate(
        event_id=event_key(event_id),
        receipt_id=receipt_id,
        subject=subject,
        actor=AGENT,
        actor_kind=ActorKind.agent,
        action=AuditAction.review_requested,
        rule=",".join(args.get("rules", [])) or None,
        confidence=args.get("confidence"),
        before={"groups": args.get("before", [])},
        after={"groups": args.get("after", []), "user_action": args.get("user_action")},
        provenance={
            "review_id": review_id,
            "reasons": args.get("reasons", {}),
            "required_approvals": args.get("required_approvals", 1),
            "flags": args.get("flags", []),
            "evidence": args.get("evidence", []),
        },
    )


def decision_text(ctx: ProvisioningContext, state: ProvisioningState) -> str:
    """One paragraph a compliance question can be matched against: what changed and why.

    Built from catalog names and the rules' own reasons (never record values), plus the AI
    rationale when a model placed the title."""
    plan = state["plan"]
    names = {g.id: g.display_name for g in ctx.catalog.groups}
    added = [a for a in plan.get("assignments", []) if a["group_id"] in plan.get("add_groups", [])]
    parts = [f"{state['event']['type']}: {plan['user_action']} the LMS account."]
    if added:
        reasons = [
            f"{names.get(a['group_id'], a['group_id'])} because {a['reason']}" for a in added
        ]
        parts.append("Added to " + "; ".join(reasons) + ".")
    removed = plan.get("remove_groups", [])
    if removed:
        parts.append("Removed from " + ", ".join(names.get(g, g) for g in removed) + ".")
    title = (state["decision"].get("provenance") or {}).get("title") or {}
    if title.get("rationale"):
        parts.append(f"AI on the title: {title['rationale']}")
    review = state.get("review") or {}
    if review.get("decision"):
        parts.append(f"Review {review['decision']} under {', '.join(review.get('rules', []))}.")
    return " ".join(parts)
