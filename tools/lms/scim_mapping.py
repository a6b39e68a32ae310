"""Employee <-> SCIM 2.0 user (RFC 7643), and LMS groups read back: the resource the
connector creates, the attributes it compares and PATCHes, the requests a user write
needs, and the LMS view it returns.

The attribute paths are both what ``ScimLMS.update_user`` compares and what its PATCH
replaces, so a snapshot and a desired state can never disagree on naming: both sides are
built by one function (``_attributes``) from the fields each side holds. Which requests a
write sends (create, update, (de)activate, or nothing) is decided once, by
``user_requests``, whether they then go one by one or in a ``POST /Bulk``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from scim2_models import Context, Email, EnterpriseUser, Group, Name, PatchOp, Resource, User

from core.employee import Employee, EmploymentStatus
from tools.lms.models import LMSGroup, LMSUser, UserWrite

ScimUser = User[EnterpriseUser]
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

ResourceT = TypeVar("ResourceT", bound=Resource[Any])


@functools.cache
def patch_op(model: type[ResourceT]) -> type[PatchOp[ResourceT]]:
    """``PatchOp[model]``, built once and kept: pydantic caches parameterised generics only
    weakly, and building one again costs ~70 ms (see ``scim.list_response``)."""
    return PatchOp[model]  # type: ignore[valid-type]


@dataclass(frozen=True)
class UserRequest:
    """One request a user write sends: ``POST /Users`` or ``PATCH /Users/{id}``."""

    method: Literal["POST", "PATCH"]
    path: str
    data: dict[str, Any]
    created: ScimUser | None = None  # a POST's user, as ``data`` holds it

    def bulk_operation(self, bulk_id: str) -> dict[str, Any]:
        """As an operation of a ``POST /Bulk`` (RFC 7644 §3.7: a POST carries a bulkId)."""
        operation: dict[str, Any] = {"method": self.method, "path": self.path}
        if self.method == "POST":
            operation["bulkId"] = bulk_id
        operation["data"] = self.data
        return operation


def user_requests(write: UserWrite) -> list[UserRequest] | None:
    """What ``write`` sends: a create when the LMS holds no user (``None`` when that user
    should not be active: a leaver who was never there is not created); else a PATCH of
    the attributes that differ, and one of ``active`` when it differs; nothing when
    nothing does.

    ``active`` changes only through its own PATCH, never as a side effect of a profile
    update, so a deactivation is always a write of its own in the LMS's log.
    """
    if write.account is None:
        if not write.active:
            return None
        resource = user_resource(write.employee)
        payload = resource.model_dump(scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        return [UserRequest("POST", "/Users", payload, created=resource)]
    user = write.account.user
    requests: list[UserRequest] = []
    changed = changed_attributes(user, write.employee)
    if changed:
        requests.append(UserRequest("PATCH", f"/Users/{user.id}", user_patch(changed)))
    if user.active != write.active:
        requests.append(
            UserRequest("PATCH", f"/Users/{user.id}", user_patch({"active": write.active}))
        )
    return requests


def creation_payload(employee: Employee) -> dict[str, Any]:
    return user_resource(employee).model_dump(scim_ctx=Context.RESOURCE_CREATION_REQUEST)


def user_patch(values: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp replacing ``values``, validated first: a misspelt attribute is caught
    before the LMS sees it."""
    payload = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": values}]}
    patch = patch_op(ScimUser).model_validate(payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    return patch.model_dump(scim_ctx=Context.RESOURCE_PATCH_REQUEST)


def changed_attributes(user: LMSUser, employee: Employee) -> dict[str, Any]:
    """The attributes of ``employee`` that differ from what ``user`` (a snapshot just read)
    holds: what ``ScimLMS.update_user`` PATCHes."""
    desired = _desired_attributes(employee)
    held = _held_attributes(user)
    return {
        key: value
        for key, value in desired.items()
        if _comparable(key, held.get(key)) != _comparable(key, value)
    }


def _attributes(
    *,
    user_name: str,
    given_name: str | None,
    family_name: str | None,
    display_name: str | None,
    nick_name: str | None,
    title: str | None,
    user_type: str | None,
    email: str | None,
    employee_number: str | None,
    department: str | None,
) -> dict[str, Any]:
    return {
        "userName": user_name,
        "name": {"givenName": given_name, "familyName": family_name},
        "displayName": display_name,
        "nickName": nick_name,
        "title": title,
        "userType": user_type,
        "emails": [{"value": email, "type": "work", "primary": True}] if email else None,
        f"{ENTERPRISE}:employeeNumber": employee_number,
        f"{ENTERPRISE}:department": department,
    }


def _desired_attributes(employee: Employee) -> dict[str, Any]:
    """What the LMS should hold for ``employee``."""
    return _attributes(
        user_name=employee.email,
        given_name=employee.given_name,
        family_name=employee.family_name,
        display_name=employee.display_name,
        nick_name=employee.preferred_name,
        title=employee.title,
        user_type=employee.worker_type.value,
        email=employee.email,
        employee_number=employee.external_id,
        department=employee.department,
    )


CASE_INSENSITIVE = frozenset({"userName", "emails"})


def _comparable(key: str, value: Any) -> Any:
    """userName and email addresses are case-insensitive (RFC 7643 §4.1.1/§4.1.2): an LMS that
    normalises their case must not trigger a write on every sync. Names and titles are not."""
    if key not in CASE_INSENSITIVE:
        return value
    if key == "emails" and isinstance(value, list):
        return [
            {**item, "value": str(item.get("value", "")).casefold()}
            if isinstance(item, dict)
            else item
            for item in value
        ]
    return value.casefold() if isinstance(value, str) else value


def _held_attributes(user: LMSUser) -> dict[str, Any]:
    """What the LMS holds for ``user``, under the same paths."""
    return _attributes(
        user_name=user.user_name,
        given_name=user.given_name,
        family_name=user.family_name,
        display_name=user.display_name,
        nick_name=user.nick_name,
        title=user.title,
        user_type=user.user_type,
        email=user.email,
        employee_number=user.employee_number,
        department=user.department,
    )


def user_resource(employee: Employee) -> ScimUser:
    user = ScimUser(
        user_name=employee.email,
        external_id=employee.external_id,
        name=Name(given_name=employee.given_name, family_name=employee.family_name),
        display_name=employee.display_name,
        nick_name=employee.preferred_name,
        title=employee.title,
        user_type=employee.worker_type.value,
        active=employee.employment_status != EmploymentStatus.inactive,
        emails=[Email(value=employee.email, type=Email.Type.work, primary=True)],
    )
    user[EnterpriseUser] = EnterpriseUser(
        employee_number=employee.external_id, department=employee.department
    )
    return user


def _primary_email(user: ScimUser) -> str | None:
    emails = user.emails or []
    chosen = next((e for e in emails if e.primary), None) or next(
        (e for e in emails if e.type == Email.Type.work), None
    )
    chosen = chosen or (emails[0] if emails else None)
    return str(chosen.value) if chosen is not None and chosen.value is not None else None


def to_lms_user(user: ScimUser) -> LMSUser:
    enterprise = user[EnterpriseUser]
    return LMSUser(
        id=str(user.id),
        external_id=user.external_id,
        user_name=str(user.user_name),
        # An LMS that omits `active` treats the user as active (RFC 7643 leaves it optional).
        active=user.active is not False,
        display_name=user.display_name,
        given_name=user.name.given_name if user.name else None,
        family_name=user.name.family_name if user.name else None,
        nick_name=user.nick_name,
        title=user.title,
        user_type=user.user_type,
        email=_primary_email(user),
        employee_number=enterprise.employee_number if enterprise else None,
        department=enterprise.department if enterprise else None,
    )


def to_lms_group(group: Group) -> LMSGroup:
    return LMSGroup(
        id=str(group.id), external_id=group.external_id, display_name=str(group.display_name or "")
    )
