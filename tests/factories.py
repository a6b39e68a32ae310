"""Builders for test data; every field has a realistic default and can be overridden."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from core.employee import Employee, EventType, HRISEvent

_ids = itertools.count(1)


def make_employee(**overrides: Any) -> Employee:
    n = next(_ids)
    fields: dict[str, Any] = {
        "external_id": f"E{10000 + n}",
        "email": f"worker{n}@example.com",
        "given_name": "Priya",
        "family_name": f"Patel{n}",
        "title": "Software Developer",
        "job_code": "15-1252.00",
        "department": "Engineering",
        "location": "Berlin",
        "country": "DE",
        "hire_date": date(2026, 1, 5),
    }
    fields.update(overrides)
    return Employee.model_validate(fields)


def make_event(employee: Employee | None = None, **overrides: Any) -> HRISEvent:
    employee = employee or make_employee()
    n = next(_ids)
    fields: dict[str, Any] = {
        "event_id": f"evt_{n}",
        "source": "standard",
        "type": EventType.created,
        "occurred_at": datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
        "employee_external_id": employee.external_id,
        "employee": employee,
    }
    fields.update(overrides)
    return HRISEvent.model_validate(fields)
