"""What TalentSync knows about an LMS's users and groups, independent of the wire protocol.

Plans diff against these snapshots, so they hold exactly the attributes TalentSync manages and
nothing the LMS keeps for itself; a REST connector returns the same shapes as the SCIM one.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.employee import Employee


@dataclass(frozen=True)
class LMSUser:
    id: str
    external_id: str | None
    user_name: str
    active: bool
    display_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    nick_name: str | None = None
    title: str | None = None
    user_type: str | None = None
    email: str | None = None
    employee_number: str | None = None
    department: str | None = None


@dataclass(frozen=True)
class LMSGroup:
    id: str
    external_id: str | None
    display_name: str


@dataclass(frozen=True)
class LMSAccount:
    """A user with the groups it is a direct member of (LMS group ids), read together so a
    plan diffs against one consistent snapshot."""

    user: LMSUser
    group_ids: frozenset[str]


@dataclass(frozen=True)
class UserWrite:
    """Make the LMS user of ``employee`` hold its record, given ``account`` as just read
    (``None``: the LMS holds no user for it), active or not as ``active`` says.

    ``active`` is the caller's decision (deactivation is reviewed), never derived from the
    record here; a person the LMS never held and who should not be active is not created.
    """

    employee: Employee
    account: LMSAccount | None
    active: bool
