"""The canonical HR records every HRIS adapter translates into.

Field names follow Merge's HRIS ``Employee`` where it has one and the SCIM enterprise user
extension otherwise, so both mappings stay one-to-one and easy to review.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from core.email_address import EmailAddress


class EmploymentStatus(StrEnum):
    active = "active"
    pending = "pending"  # hired, not started yet
    inactive = "inactive"


class WorkerType(StrEnum):
    employee = "employee"
    contractor = "contractor"
    intern = "intern"
    temporary = "temporary"


class EventType(StrEnum):
    created = "employee.created"
    updated = "employee.updated"
    terminated = "employee.terminated"
    rehired = "employee.rehired"


class Employee(BaseModel):
    """One worker as the HRIS sees them right now (a full snapshot, never a delta)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    external_id: str = Field(min_length=1, max_length=128, description="HRIS worker id.")
    email: EmailAddress
    given_name: str = Field(min_length=1, max_length=200)
    family_name: str = Field(min_length=1, max_length=200)
    preferred_name: str | None = Field(None, max_length=200)
    title: str | None = Field(None, max_length=500, description="Free-text job title.")
    job_code: str | None = Field(None, max_length=64, description="e.g. an O*NET-SOC code.")
    department: str | None = Field(None, max_length=200)
    location: str | None = Field(None, max_length=200, description="Site, e.g. 'Berlin'.")
    country: str | None = Field(
        None, min_length=2, max_length=2, pattern=r"^[A-Z]{2}$", description="ISO 3166-1."
    )
    manager_external_id: str | None = Field(None, max_length=128)
    employment_status: EmploymentStatus = EmploymentStatus.active
    worker_type: WorkerType = WorkerType.employee
    hire_date: date | None = None
    termination_date: date | None = None
    skills: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list,
        max_length=100,
        description="Skills on the HRIS profile, as typed ('Python 3', 'people mgmt').",
    )

    @property
    def display_name(self) -> str:
        return f"{self.preferred_name or self.given_name} {self.family_name}"


class HRISEvent(BaseModel):
    """A change reported by an HRIS, after its signature was checked.

    ``employee`` is ``None`` for thin notifications (BambooHR): the worker fetches the full
    record before acting, so intake never waits on the HRIS.
    """

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=256)
    source: str = Field(min_length=1, max_length=32)
    type: EventType
    occurred_at: AwareDatetime
    employee_external_id: str = Field(min_length=1, max_length=128)
    employee: Employee | None = None
    changed_fields: list[str] = Field(default_factory=list)
