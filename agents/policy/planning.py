"""Desired-versus-current diff: the plan a reviewer would read and `apply` converges to."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from core.catalog import Catalog
from core.employee import Employee, EmploymentStatus
from tools.mapping.base import Assignment


class UserAction(StrEnum):
    create = "create"
    update = "update"  # attributes are compared and written only where they differ
    deactivate = "deactivate"
    reactivate = "reactivate"
    none = "none"  # e.g. a termination of someone the LMS never knew


class ProvisioningPlan(BaseModel):
    user_action: UserAction
    add_groups: list[str] = Field(default_factory=list)
    remove_groups: list[str] = Field(default_factory=list)
    keep_groups: list[str] = Field(default_factory=list)
    assignments: list[Assignment] = Field(default_factory=list)

    @property
    def desired_groups(self) -> set[str]:
        return {a.group_id for a in self.assignments}


def wants_active(employee: Employee) -> bool:
    return employee.employment_status != EmploymentStatus.inactive


def make_plan(
    *,
    employee: Employee,
    lms_active: bool | None,
    current_groups: set[str],
    assignments: list[Assignment],
    catalog: Catalog,
) -> ProvisioningPlan:
    """Diff only the groups the catalog manages; groups created by hand in the LMS stay."""
    desired = {a.group_id for a in assignments}
    managed_current = current_groups & set(catalog.by_id)
    active = wants_active(employee)
    if lms_active is None:
        action = UserAction.create if active else UserAction.none
    elif active and not lms_active:
        action = UserAction.reactivate
    elif not active and lms_active:
        action = UserAction.deactivate
    else:
        action = UserAction.update
    return ProvisioningPlan(
        user_action=action,
        add_groups=sorted(desired - managed_current),
        remove_groups=sorted(managed_current - desired),
        keep_groups=sorted(desired & managed_current),
        assignments=assignments,
    )
