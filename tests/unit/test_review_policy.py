"""The review policy: a broken file stops start-up with a clear reason; each rule fires on
exactly the changes it describes."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.policy.assess import ChangeFacts, assess, seniority
from agents.policy.planning import ProvisioningPlan, UserAction
from agents.policy.rules import DEFAULT_POLICY, PolicyError, load_policy
from core.catalog import GroupKind, load_catalog
from tools.mapping.base import Assignment

CATALOG = load_catalog()
POLICY = load_policy(DEFAULT_POLICY, catalog=CATALOG)


def facts(
    *,
    action: UserAction = UserAction.update,
    add: tuple[str, ...] = (),
    remove: tuple[str, ...] = (),
    ai: tuple[float, ...] = (),
    flags: tuple[str, ...] = (),
    previous_title: str | None = None,
    title: str | None = None,
) -> ChangeFacts:
    assignments = [
        Assignment(
            group_id="role-15-1252",
            kind=GroupKind.role,
            reason="ai",
            rule="ai:embedded",
            confidence=c,
        )
        for c in ai
    ]
    plan = ProvisioningPlan(
        user_action=action,
        add_groups=list(add),
        remove_groups=list(remove),
        assignments=assignments,
    )
    return ChangeFacts.of(
        plan, catalog=CATALOG, flags=list(flags), previous_title=previous_title, title=title
    )


def fired(change: ChangeFacts) -> list[str]:
    return [f.rule_id for f in assess(POLICY, change).fired]


def test_a_plain_change_waits_for_nobody() -> None:
    assert fired(facts(add=("dept-engineering",), ai=(0.95,))) == []


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (facts(action=UserAction.deactivate), "termination"),
        (facts(add=("prog-leadership",)), "leadership-access"),
        (facts(add=("prog-people-manager-essentials",)), "leadership-access"),
        (facts(remove=("curr-code-of-conduct",)), "compliance-removal"),
        (
            facts(remove=("dept-engineering", "site-berlin", "role-15-1252", "role-15-1253")),
            "mass-removal",
        ),
        (facts(previous_title="Accountant", title="Senior Accountant"), "promotion"),
        (facts(ai=(0.95, 0.5)), "ai-low-confidence"),
        (facts(flags=("no_role_found",)), "ai-low-confidence"),
        # above the policy's threshold but under the mapper's auto-apply one: held, so it
        # must reach a reviewer
        (facts(ai=(0.89,), flags=("low_confidence",)), "ai-low-confidence"),
        (facts(flags=("prompt_injection",)), "prompt-injection"),
        (facts(flags=("pii_refusal",)), "pii-refusal"),
    ],
)
def test_each_rule_fires_on_its_change(change: ChangeFacts, rule: str) -> None:
    assert rule in fired(change)


def test_the_strictest_rule_sets_approvals_and_the_soonest_due_time() -> None:
    result = assess(POLICY, facts(action=UserAction.deactivate, add=("prog-leadership",)))
    assert result.approvals == 2
    assert result.due_hours == 24
    assert result.on_overdue == "escalate"


def test_a_step_down_or_sideways_is_not_a_promotion() -> None:
    assert "promotion" not in fired(facts(previous_title="Senior Accountant", title="Accountant"))
    assert "promotion" not in fired(facts(previous_title=None, title="Director of Finance"))
    assert seniority("Analyst") < seniority("Senior Analyst") < seniority("Analytics Manager")
    assert seniority("Analytics Manager") < seniority("Director") < seniority("VP Sales")


def test_shadow_mode_holds_every_ai_choice(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\nshadow_mode: true\nrules: []\n")
    policy = load_policy(path, catalog=CATALOG)
    assert [f.rule_id for f in assess(policy, facts(ai=(0.99,))).fired] == ["shadow-mode"]
    assert assess(policy, facts()).fired == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("version: 2\nrules: []\n", "version"),
        ("version: 1\nrules:\n  - id: rx\n    when: sometimes\n", "when"),
        ("version: 1\nrules:\n  - id: rx\n    when: group_added\n", "needs tags or kinds"),
        (
            "version: 1\nrules:\n  - id: rx\n    when: ai_confidence_below\n    threshold: 3\n",
            r"rules\.0\.ai_confidence_below\.threshold",
        ),
        ("version: 1\nrules:\n  - id: rx\n    when: flagged\n    flags: [nope]\n", "unknown flags"),
        (
            "version: 1\nrules:\n  - {id: rx, when: deprovision}\n  - {id: rx, when: promotion}\n",
            "unique",
        ),
        ("version: 1\nrules:\n  - {id: rx, when: deprovision, approve: 2}\n", "approve"),
        (
            "version: 1\nrules:\n  - {id: rx, when: group_added, tags: [leadrship]}\n",
            r"no catalog group has tags \['leadrship'\]",
        ),
        ("version: 1\nrules: [\n", "cannot read"),
    ],
)
def test_a_broken_policy_names_the_problem(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=reason) as raised:
        load_policy(path, catalog=CATALOG)
    assert str(path) in str(raised.value)
