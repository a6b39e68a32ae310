"""What a provisioning run writes to the audit trail and to its inbox outcome, built from
its (plain JSON) state.

Both are permanent as far as the person is concerned: the audit is append-only and survives
erasure, so every string either is our own id or label, or has passed the PII firewall as
audit text. That is enforced here, in one place, by `pii.audit_text.AuditScreen`:
free text (the title and skills as the model view held them, a rationale, evidence) goes
through ``screen.text`` and is replaced by a marker if refused, and every entry payload and
outcome is swept by ``screen.payload`` as a last step, so a field added later is screened
too. Build audit entries and outcomes of a run here, never from raw state elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agents.provisioning.state import ProvisioningContext, ProvisioningState
from core.audit import ActorKind, AuditAction, AuditEntryCreate
from core.catalog import Catalog
from pii.allowlist import AllowedTerms
from pii.audit_text import WITHHELD, AuditScreen
from pii.firewall import PIIFirewall
from pii.identity import RecordIdentity
from tools.mapping.title_mapping import TitleMapping

AGENT = "agent:provisioning"
__all__ = [
    "WITHHELD",
    "audit_screen",
    "review_requested_entry",
    "run_entries",
    "run_outcome",
    "screen_run",
]


def event_key(event_id: str) -> str | None:
    """Internal refresh events are named after a manager's HRIS id: never into the chain."""
    return None if event_id.startswith("refresh:") else event_id[:256]


def audit_screen(
    *,
    firewall: PIIFirewall,
    identity: RecordIdentity,
    catalog: Catalog,
    titles: TitleMapping | None,
    own_ids: Sequence[str],
) -> AuditScreen:
    """The screen for one run: our catalog's ids and names and the run's own ids (receipt,
    pseudonym, review) are vocabulary, not personal data, though they can look like it."""
    vocabulary = titles.directory.vocabulary if titles is not None else AllowedTerms(())
    terms = [*own_ids, *catalog.by_id, *(g.display_name for g in catalog.groups)]
    return AuditScreen(firewall, identity, vocabulary.extended(terms))


@dataclass(frozen=True)
class ScreenedRun:
    """A finished run's screen, and the free text its outcome and its audit entries share
    (title, skills), screened once for both."""

    subject: str
    screen: AuditScreen
    title: dict[str, Any] | None
    skills: list[dict[str, Any]]


def screen_run(
    ctx: ProvisioningContext, state: ProvisioningState, *, subject: str, identity: RecordIdentity
) -> ScreenedRun:
    screen = audit_screen(
        firewall=ctx.services.pii.firewall,
        identity=identity,
        catalog=ctx.services.catalog,
        titles=ctx.services.titles,
        own_ids=[ctx.claim.receipt_id, subject],
    )
    title = (state["decision"].get("provenance") or {}).get("title")
    return ScreenedRun(
        subject=subject,
        screen=screen,
        title=screened_title(screen, title),
        skills=screened_skills(screen, state.get("skills") or []),
    )


def _managed(ctx: ProvisioningContext, groups: list[str]) -> list[str]:
    return sorted(g for g in groups if g in ctx.services.catalog.by_id)


def screened_title(screen: AuditScreen, title: dict[str, Any] | None) -> dict[str, Any] | None:
    """The AI decision's provenance without the reviewer-only candidate list; the title as
    the model saw it, the rationale and the evidence as audit text."""
    if not title:
        return None
    kept = {k: v for k, v in title.items() if k != "candidates"}
    provenance = kept.get("provenance") or {}
    screen = screen.with_terms(
        [str(provenance[k]) for k in ("prompt", "mapper", "model") if provenance.get(k)]
    )
    for key in ("title", "rationale"):
        if key in kept:
            kept[key] = screen.text(str(kept[key] or ""))
    if "evidence" in kept:
        kept["evidence"] = screen.texts(str(e) for e in kept["evidence"] or [])
    screened: dict[str, Any] = screen.payload(kept)
    return screened


def screened_skills(screen: AuditScreen, skills: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each profile skill as its position, the concept it was placed on, how and how sure;
    its text only as the model view held it and only if it passes as audit text. Candidate
    lists are for a reviewer's eyes and stay out."""
    screen = screen.with_terms(
        [str(s[k]) for s in skills for k in ("concept_id", "label") if s.get(k)]
    )
    recorded = [
        {
            "index": index,
            "concept_id": skill.get("concept_id"),
            "label": skill.get("label"),
            "confidence": skill.get("confidence"),
            "method": skill.get("method"),
            "text": screen.text(str(skill.get("text") or "")),
        }
        for index, skill in enumerate(skills)
    ]
    screened: list[dict[str, Any]] = screen.payload(recorded)
    return screened


def run_entries(
    ctx: ProvisioningContext, state: ProvisioningState, screened: ScreenedRun
) -> list[AuditEntryCreate]:
    """The decision, and the LMS write if one happened."""
    screen, subject = screened.screen, screened.subject
    employee = ctx.employee(state)
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
        "title": screened.title,
        "skills": screened.skills,
        "policy": review,
    }
    entries = [
        AuditEntryCreate(
            **common,
            action=AuditAction.decision_made,
            rule=",".join(review["rules"]) if review and review.get("rules") else None,
            confidence=decision.get("confidence"),
            before=screen.payload(
                {
                    "groups": _managed(ctx, state.get("current_groups", [])),
                    "active": (state.get("lms_user") or {}).get("active"),
                }
            ),
            after=screen.payload(
                {
                    "groups": sorted(a["group_id"] for a in plan.get("assignments", [])),
                    "user_action": plan["user_action"],
                    "active": employee.employment_status.value != "inactive",
                }
            ),
            provenance=screen.payload(provenance),
            decision=(
                screen.payload({"decision": review.get("decision"), "by": review.get("by")})
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
                after=screen.payload(
                    {
                        "user_action": applied.get("user_action"),
                        "added_groups": applied.get("added_groups", []),
                        "removed_groups": applied.get("removed_groups", []),
                        "writes": applied.get("writes", 0),
                    }
                ),
                provenance=screen.payload({"catalog_version": decision["catalog_version"]}),
            )
        )
    return entries


def run_outcome(state: ProvisioningState, screened: ScreenedRun) -> dict[str, Any]:
    """What the inbox row keeps of a finished run (``inbox_event.outcome``)."""
    screen = screened.screen
    decision = state["decision"]
    review = state.get("review")
    outcome = {
        "applied": state.get("applied") or {"writes": 0, "note": "rejected by review"},
        "mapper": decision["mapper"],
        "catalog_version": decision["catalog_version"],
        "unresolved": decision.get("unresolved", []),
        "held_for_review": [a["group_id"] for a in decision.get("held_for_review", [])],
        "flags": decision.get("flags", []),
        "title": screened.title,
        "skills": screened.skills,
        "user_action": state["plan"]["user_action"],
        "pii": state.get("pii", {}),
        "review": review,
    }
    kept: dict[str, Any] = screen.payload(outcome)
    return kept


def review_requested_entry(
    *,
    event_id: str,
    receipt_id: str,
    subject: str,
    review_id: str,
    request: dict[str, Any],
    screen: AuditScreen,
) -> AuditEntryCreate:
    args = request["action_request"]["args"]
    screen = screen.with_terms([review_id])
    return AuditEntryCreate(
        event_id=event_key(event_id),
        receipt_id=receipt_id,
        subject=subject,
        actor=AGENT,
        actor_kind=ActorKind.agent,
        action=AuditAction.review_requested,
        rule=",".join(args.get("rules", [])) or None,
        confidence=args.get("confidence"),
        before=screen.payload({"groups": args.get("before", [])}),
        after=screen.payload(
            {"groups": args.get("after", []), "user_action": args.get("user_action")}
        ),
        provenance=screen.payload(
            {
                "review_id": review_id,
                "reasons": args.get("reasons", {}),
                "required_approvals": args.get("required_approvals", 1),
                "flags": args.get("flags", []),
                "evidence": screen.texts(str(e) for e in args.get("evidence", [])),
            }
        ),
    )


def decision_text(ctx: ProvisioningContext, state: ProvisioningState) -> str:
    """One paragraph a compliance question can be matched against: what changed and why.

    Built from catalog names and the rules' own reasons (never record values), plus the AI
    rationale when a model placed the title."""
    plan = state["plan"]
    names = {g.id: g.display_name for g in ctx.services.catalog.groups}
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
