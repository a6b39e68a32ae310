"""The demo's LMS-vs-HRIS check: what counts as agreement once AI placements and the review
queue are part of the run, and that a real disagreement still fails it.

The LMS here is a stand-in with the three reads the check makes; the end-to-end test runs
the same check against the real SCIM sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import pytest

from api.demo_readback import TitleOutcome, compare_with_hris
from core.catalog import Catalog, load_catalog
from core.employee import Employee
from tools.hris.simulator.free_text import INJECTION_TITLE, FreeTextTitle
from tools.lms.models import LMSGroup, LMSUser
from tools.lms.scim import ScimLMS
from tools.mapping.role_directory import RoleDirectory
from tools.mapping.rules import RulesMapper


@dataclass
class FakeLMS:
    catalog: Catalog
    members: dict[str, set[str]] = field(default_factory=dict)  # external id -> catalog ids
    inactive: set[str] = field(default_factory=set)

    def groups(self) -> dict[str, LMSGroup]:
        return {g.id: LMSGroup(f"scim-{g.id}", g.id, g.display_name) for g in self.catalog.groups}

    def find_user(self, external_id: str) -> LMSUser | None:
        if external_id not in self.members:
            return None
        active = external_id not in self.inactive
        return LMSUser(f"u-{external_id}", external_id, external_id, active)

    def member_group_ids(self, user_id: str) -> set[str]:
        return {f"scim-{g}" for g in self.members[user_id.removeprefix("u-")]}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def employee(external_id: str, *, title: str, job_code: str | None) -> Employee:
    return Employee(
        external_id=external_id,
        email=f"{external_id.lower()}@example.com",
        given_name="Ada",
        family_name="Example",
        title=title,
        job_code=job_code,
        department="Engineering",
        location="Berlin",
        country="DE",
    )


RULED = employee("W1", title="Software Engineer", job_code="15-1252.00")
HELD = employee("W2", title="Jr. Frontend Dev (React)", job_code=None)
PLACED = employee("W3", title="Help Desk Tech II", job_code="NW-1234")
INJECTED = employee("W4", title=INJECTION_TITLE, job_code=None)
FINAL = {e.external_id: e for e in (RULED, HELD, PLACED, INJECTED)}


def rules_groups(catalog: Catalog, person: Employee) -> set[str]:
    return set(RulesMapper(catalog).map(person, manages_others=False).group_ids)


def bundle(catalog: Catalog, role_id: str) -> set[str]:
    return set(RoleDirectory(catalog).bundles[role_id])


def held(catalog: Catalog, person: Employee, *, after: set[str] | None = None) -> TitleOutcome:
    """Waiting for review: the change would create the account with the AI's role."""
    proposal = rules_groups(catalog, person) | bundle(catalog, "role-15-1254")
    return TitleOutcome(
        external_id=person.external_id,
        sent=FreeTextTitle(person.title or "", "15-1254.00", injection=person is INJECTED),
        status="held",
        role_id="role-15-1254",
        confidence=0.77,
        rules=("ai-low-confidence",),
        before=(),
        after=tuple(sorted(proposal if after is None else after)),
        user_action="create",
    )


def placed(person: Employee) -> TitleOutcome:
    return TitleOutcome(
        external_id=person.external_id,
        sent=FreeTextTitle(person.title or "", "15-1232.00", injection=person is INJECTED),
        status="applied",
        role_id="role-15-1232",
        confidence=0.82,
    )


def healthy(catalog: Catalog) -> tuple[FakeLMS, dict[str, TitleOutcome]]:
    """W1 placed by the rules, W3 by the AI; W2 and W4 (the injection) wait for review, so
    the LMS has no account for them yet."""
    lms = FakeLMS(
        catalog,
        members={
            "W1": rules_groups(catalog, RULED),
            "W3": rules_groups(catalog, PLACED) | bundle(catalog, "role-15-1232"),
        },
    )
    return lms, {"W2": held(catalog, HELD), "W3": placed(PLACED), "W4": held(catalog, INJECTED)}


def compare(catalog: Catalog, lms: FakeLMS, titles: dict[str, TitleOutcome]) -> list[str]:
    report = compare_with_hris(FINAL, lms=cast(ScimLMS, lms), catalog=catalog, titles=titles)
    return report.mismatches


def test_held_hires_without_an_account_and_an_ai_placement_agree(catalog: Catalog) -> None:
    lms, titles = healthy(catalog)
    report = compare_with_hris(FINAL, lms=cast(ScimLMS, lms), catalog=catalog, titles=titles)
    assert report.mismatches == []
    assert (report.matching, report.held, report.users) == (4, 2, 2)


def test_without_title_outcomes_ai_placements_are_disagreements(catalog: Catalog) -> None:
    """The check must not take whatever the LMS holds: an AI role needs the service's record."""
    lms, _ = healthy(catalog)
    assert {m.split(":")[0] for m in compare(catalog, lms, {})} == {"W2", "W3", "W4"}


def test_a_held_change_that_already_reached_the_lms_is_a_disagreement(catalog: Catalog) -> None:
    lms, titles = healthy(catalog)
    lms.members["W2"] = rules_groups(catalog, HELD)
    assert compare(catalog, lms, titles) == [
        "W2: held for review, yet the LMS already has an account"
    ]


def test_a_held_change_that_drops_an_hris_group_is_a_disagreement(catalog: Catalog) -> None:
    lms, titles = healthy(catalog)
    titles["W2"] = held(catalog, HELD, after=set(titles["W2"].after) - {"site-berlin"})
    assert compare(catalog, lms, titles) == [
        "W2: the change held for review misses ['site-berlin'], adds []"
    ]


def test_an_injection_applied_without_review_is_a_disagreement(catalog: Catalog) -> None:
    lms, titles = healthy(catalog)
    titles["W4"] = placed(INJECTED)
    lms.members["W4"] = rules_groups(catalog, INJECTED) | bundle(catalog, "role-15-1232")
    assert compare(catalog, lms, titles) == ["W4: a prompt-injection title was applied unreviewed"]


def test_a_missing_rules_group_is_still_a_disagreement(catalog: Catalog) -> None:
    lms, titles = healthy(catalog)
    lms.members["W1"] = rules_groups(catalog, RULED) - {"dept-engineering"}
    assert compare(catalog, lms, titles) == ["W1: missing ['dept-engineering'], extra []"]
