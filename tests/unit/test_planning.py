"""The plan: what the LMS should change for one person, touching only catalog groups."""

from __future__ import annotations

import pytest

from agents.policy.planning import UserAction, make_plan
from core.catalog import Catalog, CatalogGroup, GroupKind
from core.employee import EmploymentStatus
from tests.factories import make_employee
from tools.mapping.base import Assignment

CATALOG = Catalog(
    version="t",
    groups=[
        CatalogGroup(id="everyone", display_name="Everyone", kind=GroupKind.everyone),
        CatalogGroup(id="role-dev", display_name="Role: Developers", kind=GroupKind.role),
        CatalogGroup(id="role-acct", display_name="Role: Accountants", kind=GroupKind.role),
    ],
)


def _assign(*ids: str) -> list[Assignment]:
    return [Assignment(group_id=i, kind=CATALOG.by_id[i].kind, reason="r", rule="r") for i in ids]


@pytest.mark.parametrize(
    ("status", "lms_active", "action"),
    [
        (EmploymentStatus.active, None, UserAction.create),
        (EmploymentStatus.inactive, None, UserAction.none),
        (EmploymentStatus.active, True, UserAction.update),
        (EmploymentStatus.inactive, True, UserAction.deactivate),
        (EmploymentStatus.active, False, UserAction.reactivate),
        (EmploymentStatus.pending, None, UserAction.create),
    ],
)
def test_user_action_follows_hris_status_and_lms_state(
    status: EmploymentStatus, lms_active: bool | None, action: UserAction
) -> None:
    plan = make_plan(
        employee=make_employee(employment_status=status),
        lms_active=lms_active,
        current_groups=set(),
        assignments=[],
        catalog=CATALOG,
    )
    assert plan.user_action == action


def test_groups_are_diffed_and_hand_made_groups_are_left_alone() -> None:
    plan = make_plan(
        employee=make_employee(),
        lms_active=True,
        current_groups={"everyone", "role-acct", "book-club-made-by-hand"},
        assignments=_assign("everyone", "role-dev"),
        catalog=CATALOG,
    )
    assert plan.add_groups == ["role-dev"]
    assert plan.remove_groups == ["role-acct"]
    assert plan.keep_groups == ["everyone"]
    assert plan.desired_groups == {"everyone", "role-dev"}
