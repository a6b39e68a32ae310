"""Folding an AI title suggestion into the rules' mapping decision.

Pure functions, so the policy is testable without a graph: what is applied, what is held
for review, and what is kept in the meantime. Keeping matters: when a new title is not
confidently placed, the person keeps the role groups they have until a reviewer decides,
instead of losing them to a removal nobody approved.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from core.catalog import Catalog, GroupKind
from tools.mapping.base import Assignment, MappingDecision
from tools.mapping.role_directory import RoleDirectory
from tools.mapping.rules import catalog_assignment
from tools.mapping.suggestion import RoleSuggestion
from tools.mapping.title_mapping import BLOCKING_FLAGS

KEPT_RULE = "kept:pending_review"
_EXPLAINED = BLOCKING_FLAGS | {"low_confidence", "model_abstained"}
"""Flags that already say why a proposal waits; otherwise it waits for low confidence."""


def role_assignments(
    suggestion: RoleSuggestion, *, directory: RoleDirectory, hire_date: date | None
) -> list[Assignment]:
    if suggestion.role_id is None or suggestion.role_id not in directory:
        return []
    label = directory.label(suggestion.role_id)
    mapper = suggestion.provenance.get("mapper", "ai")
    return [
        catalog_assignment(
            directory.catalog,
            group_id,
            rule=f"ai:{mapper}",
            reason=f"title '{suggestion.title}' placed as {label}",
            hire_date=hire_date,
            confidence=suggestion.confidence,
            evidence=suggestion.evidence,
        )
        for group_id in directory.bundles[suggestion.role_id]
    ]


def kept_role_groups(
    catalog: Catalog, directory: RoleDirectory, current_groups: list[str], *, hire_date: date | None
) -> list[Assignment]:
    """The role groups (and the curricula they bring) a person has now."""
    held = [g for g in current_groups if g in directory]
    keep = dict.fromkeys(
        group_id
        for role_id in held
        for group_id in directory.bundles[role_id]
        if group_id in current_groups
    )
    return [
        catalog_assignment(
            catalog,
            group_id,
            rule=KEPT_RULE,
            reason="kept until a reviewer decides the role",
            hire_date=hire_date,
        )
        for group_id in keep
    ]


def needs_role(decision: MappingDecision) -> bool:
    return not any(a.kind is GroupKind.role for a in decision.assignments)


def with_title_suggestion(
    decision: MappingDecision,
    suggestion: RoleSuggestion,
    *,
    apply: bool,
    proposed: list[Assignment],
    kept: list[Assignment],
) -> MappingDecision:
    known = set(decision.group_ids)
    provenance: dict[str, Any] = {
        **decision.provenance,
        "title": suggestion.model_dump(mode="json"),
    }
    if apply:
        return decision.model_copy(
            update={
                "assignments": [
                    *decision.assignments,
                    *(a for a in proposed if a.group_id not in known),
                ],
                "confidence": min(decision.confidence, suggestion.confidence),
                "provenance": provenance,
            }
        )
    flags = list(dict.fromkeys([*decision.flags, *suggestion.flags]))
    if suggestion.role_id is None and "no_role_found" not in flags:
        flags.append("no_role_found")
    elif suggestion.role_id is not None and not _EXPLAINED.intersection(flags):
        flags.append("low_confidence")
    return decision.model_copy(
        update={
            "assignments": [*decision.assignments, *(a for a in kept if a.group_id not in known)],
            "held_for_review": [*decision.held_for_review, *proposed],
            "flags": flags,
            "provenance": provenance,
        }
    )
