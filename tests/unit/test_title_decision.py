"""How an AI suggestion joins the rules' decision: applied, or held while current roles stay."""

from __future__ import annotations

from datetime import date

from agents.provisioning.title_decision import (
    KEPT_RULE,
    kept_role_groups,
    needs_role,
    role_assignments,
    with_title_suggestion,
)
from core.catalog import GroupKind
from tests.factories import make_employee
from tools.mapping.base import MappingDecision
from tools.mapping.role_directory import RoleDirectory
from tools.mapping.rules import RulesMapper
from tools.mapping.suggestion import RoleSuggestion

HIRED = date(2026, 3, 2)


def suggestion(role_id: str | None, confidence: float = 0.9, **extra: object) -> RoleSuggestion:
    return RoleSuggestion(
        title="Sr Software Engineer",
        role_id=role_id,
        confidence=confidence,
        rationale="closest label",
        provenance={"mapper": "embedded"},
        **extra,
    )


def open_decision(role_directory: RoleDirectory) -> MappingDecision:
    rules = RulesMapper(role_directory.catalog)
    return rules.map(make_employee(job_code=None, hire_date=HIRED), manages_others=False)


def test_a_role_brings_the_curricula_the_rules_attach_to_it(role_directory: RoleDirectory) -> None:
    proposed = role_assignments(
        suggestion("role-15-1252"), directory=role_directory, hire_date=HIRED
    )

    assert [a.group_id for a in proposed] == ["role-15-1252", "curr-secure-coding"]
    assert all(a.rule == "ai:embedded" and a.confidence == 0.9 for a in proposed)
    curriculum = proposed[1]
    assert curriculum.due_date is not None and curriculum.due_date > HIRED


def test_no_assignments_for_an_abstention_or_an_unknown_id(role_directory: RoleDirectory) -> None:
    assert role_assignments(suggestion(None), directory=role_directory, hire_date=None) == []
    assert role_assignments(suggestion("admins"), directory=role_directory, hire_date=None) == []


def test_applied_suggestion_adds_the_role(role_directory: RoleDirectory) -> None:
    decision = open_decision(role_directory)
    assert needs_role(decision)
    chosen = suggestion("role-15-1252")
    proposed = role_assignments(chosen, directory=role_directory, hire_date=HIRED)

    merged = with_title_suggestion(decision, chosen, apply=True, proposed=proposed, kept=[])

    assert not needs_role(merged)
    assert merged.held_for_review == [] and merged.flags == []
    assert merged.provenance["title"]["role_id"] == "role-15-1252"
    assert merged.confidence == 0.9


def test_held_suggestion_keeps_current_roles_and_says_why(role_directory: RoleDirectory) -> None:
    decision = open_decision(role_directory)
    unsure = suggestion("role-15-1252", confidence=0.4)
    proposed = role_assignments(unsure, directory=role_directory, hire_date=HIRED)
    current = ["everyone", "role-29-1141", "curr-bloodborne-pathogens", "dept-engineering"]
    kept = kept_role_groups(role_directory.catalog, role_directory, current, hire_date=HIRED)

    merged = with_title_suggestion(decision, unsure, apply=False, proposed=proposed, kept=kept)

    kept_ids = {a.group_id for a in merged.assignments if a.rule == KEPT_RULE}
    assert kept_ids == {"role-29-1141", "curr-bloodborne-pathogens"}
    assert kept_ids <= set(current)
    assert [a.group_id for a in merged.held_for_review] == ["role-15-1252", "curr-secure-coding"]
    assert merged.flags == ["low_confidence"]
    assert any(a.kind is GroupKind.role for a in merged.assignments)


def test_flags_from_the_mapper_explain_the_hold(role_directory: RoleDirectory) -> None:
    decision = open_decision(role_directory)
    flagged = suggestion("role-15-1252", flags=["prompt_injection"])
    merged = with_title_suggestion(decision, flagged, apply=False, proposed=[], kept=[])
    assert merged.flags == ["prompt_injection"]
    nothing = with_title_suggestion(decision, suggestion(None), apply=False, proposed=[], kept=[])
    assert nothing.flags == ["no_role_found"]
