"""Which policy rules a proposed change fires.

Rules look at the change as it would land (the full proposal, including AI choices held
back for review), because that is what a reviewer approves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agents.policy.planning import ProvisioningPlan, UserAction
from agents.policy.rules import (
    DeprovisionRule,
    FlaggedRule,
    GroupAddedRule,
    GroupRemovedRule,
    LowConfidenceRule,
    ManyRemovalsRule,
    PromotionRule,
    ReviewPolicy,
    Rule,
)
from core.catalog import Catalog, CatalogGroup
from tools.mapping.base import Assignment

_SENIORITY: tuple[tuple[int, re.Pattern[str]], ...] = tuple(
    (rank, re.compile(pattern, re.IGNORECASE))
    for rank, pattern in (
        (7, r"\b(chief|c[etfoi]o|president|founder)\b"),
        (6, r"\b(vp|vice president|svp|evp|head of)\b"),
        (5, r"\b(director)\b"),
        (4, r"\b(manager|mgr|supervisor)\b"),
        (3, r"\b(lead|principal|staff|architect)\b"),
        (2, r"\b(senior|sr\.?|iii|iv)\b"),
        (0, r"\b(intern|trainee|apprentice|graduate|junior|jr\.?|entry[- ]level)\b"),
    )
)
"""Coarse on purpose: it only has to notice a step up ("Analyst" -> "Senior Analyst" ->
"Analytics Manager"), not grade a job architecture. No match counts as 1 (a plain title)."""


def seniority(title: str | None) -> int:
    if not title:
        return 1
    return next((rank for rank, pattern in _SENIORITY if pattern.search(title)), 1)


@dataclass(frozen=True)
class ChangeFacts:
    user_action: UserAction
    added: list[CatalogGroup]
    removed: list[CatalogGroup]
    ai_assignments: list[Assignment]  # AI-made choices in the change, applied or held
    flags: list[str]
    previous_title: str | None = None
    title: str | None = None

    @classmethod
    def of(
        cls,
        plan: ProvisioningPlan,
        *,
        catalog: Catalog,
        flags: list[str],
        previous_title: str | None,
        title: str | None,
    ) -> ChangeFacts:
        return cls(
            user_action=plan.user_action,
            added=[catalog.by_id[g] for g in plan.add_groups if g in catalog.by_id],
            removed=[catalog.by_id[g] for g in plan.remove_groups if g in catalog.by_id],
            ai_assignments=[a for a in plan.assignments if a.rule.startswith("ai:")],
            flags=flags,
            previous_title=previous_title,
            title=title,
        )


@dataclass(frozen=True)
class FiredRule:
    rule_id: str
    reason: str
    approvals: int
    due_hours: float
    on_overdue: str


@dataclass(frozen=True)
class Assessment:
    fired: list[FiredRule] = field(default_factory=list)

    @property
    def needs_review(self) -> bool:
        return bool(self.fired)

    @property
    def approvals(self) -> int:
        return max((f.approvals for f in self.fired), default=0)

    @property
    def due_hours(self) -> float:
        return min((f.due_hours for f in self.fired), default=0.0)

    @property
    def on_overdue(self) -> str:
        """Reject only if every fired rule would: escalating is the safer default."""
        modes = {f.on_overdue for f in self.fired}
        return "reject" if modes == {"reject"} else "escalate"


def _matches(group: CatalogGroup, tags: list[str], kinds: list[object]) -> bool:
    return bool(set(group.tags) & set(tags)) or group.kind in kinds


def _reason(rule: Rule, facts: ChangeFacts) -> str | None:
    if isinstance(rule, DeprovisionRule):
        return "account deactivation" if facts.user_action is UserAction.deactivate else None
    if isinstance(rule, GroupAddedRule):
        hit = [g.id for g in facts.added if _matches(g, rule.tags, list(rule.kinds))]
        return f"adds {', '.join(hit)}" if hit else None
    if isinstance(rule, GroupRemovedRule):
        hit = [g.id for g in facts.removed if _matches(g, rule.tags, list(rule.kinds))]
        return f"removes {', '.join(hit)}" if hit else None
    if isinstance(rule, ManyRemovalsRule):
        count = len(facts.removed)
        return f"removes {count} groups" if count > rule.more_than else None
    if isinstance(rule, PromotionRule):
        before, after = seniority(facts.previous_title), seniority(facts.title)
        up = facts.previous_title is not None and after > before
        return f"seniority {before} -> {after}" if up else None
    if isinstance(rule, LowConfidenceRule):
        low = [a for a in facts.ai_assignments if a.confidence < rule.threshold]
        if low or "no_role_found" in facts.flags:
            lowest = min((a.confidence for a in low), default=0.0)
            return f"AI confidence {lowest:.2f} < {rule.threshold:.2f}"
        if "low_confidence" in facts.flags:
            # the mapper held a choice back (TALENTSYNC_AI_AUTO_APPLY_CONFIDENCE set above
            # this threshold): without a review it would never be applied nor seen
            lowest = min((a.confidence for a in facts.ai_assignments), default=0.0)
            return f"AI confidence {lowest:.2f} held back by the mapper"
        return None
    if isinstance(rule, FlaggedRule):
        hit = sorted(set(rule.flags) & set(facts.flags))
        return f"flagged {', '.join(hit)}" if hit else None
    raise TypeError(f"unhandled rule type {type(rule).__name__}")


def assess(policy: ReviewPolicy, facts: ChangeFacts) -> Assessment:
    fired = []
    for rule in policy.rules:
        reason = _reason(rule, facts)
        if reason is not None:
            fired.append(
                FiredRule(rule.id, reason, rule.approvals, rule.due_hours, rule.on_overdue)
            )
    if policy.shadow_mode and facts.ai_assignments:
        fired.append(
            FiredRule(
                "shadow-mode", "every AI-made change waits", policy.shadow_approvals, 72, "escalate"
            )
        )
    return Assessment(fired)
