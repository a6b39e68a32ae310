"""Merge.dev HRIS employee webhooks, with payloads shaped like Merge's documented samples."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from core.employee import EmploymentStatus, EventType, WorkerType
from tools.hris.errors import IntakeError
from tools.hris.merge import MergeSource

KEY = "merge-signature-key-3c9e1f"
NOW = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)

MERGE_EMPLOYEE: dict[str, Any] = {
    "id": "0958cbc6-6040-430a-848e-aafacbadf4ae",
    "remote_id": "19202938",
    "employee_number": "2",
    "company": "8d9fd929-436c-4fd4-a48b-0c61f68d6178",
    "first_name": "Greg",
    "last_name": "Hirsch",
    "preferred_name": "Cousin Greg",
    "display_full_name": "Cousin Greg Hirsch",
    "username": "cousingreg",
    "work_email": "greg@merge.dev",
    "personal_email": "greg@gmail.com",
    "mobile_phone_number": "+1234567890",
    "employments": [
        {
            "id": "17a54124-287f-494d-965e-3c5b330c9a68",
            "remote_id": "123k3wqd",
            "job_title": "Executive Assistant",
            "employment_type": "FULL_TIME",
        }
    ],
    "home_location": "d2f972d0-2526-434b-9409-4c3b468e08f0",
    "work_location": {
        "id": "9efbc633-3387-4306-aa55-e2c635e6bb4f",
        "remote_id": "loc-7",
        "name": "NYC Office",
        "city": "New York",
        "country": "US",
        "location_type": "WORK",
    },
    "manager": {"id": "0048ea5b-911e-4dff-9364-92070dea62ff", "remote_id": "1234"},
    "team": {"id": "249c9faa-3045-4a31-953b-8f22d3613301", "name": "Engineering"},
    "gender": "MALE",
    "date_of_birth": "1990-11-10T00:00:00Z",
    "hire_date": "2020-10-10T00:00:00Z",
    "start_date": "2020-10-11T07:00:00Z",
    "remote_created_at": "2020-10-11T00:00:00Z",
    "employment_status": "ACTIVE",
    "termination_date": None,
    "remote_was_deleted": False,
    "custom_fields": {},
    "modified_at": "2021-10-16T00:00:00Z",
}


def delivery(event: str = "Employee.changed", **data: Any) -> dict[str, Any]:
    employee = copy.deepcopy(MERGE_EMPLOYEE)
    employee.update(data)
    return {
        "hook": {
            "id": "cb1fe0a7-c2a1-4bd6-8cf5-57e70c7f1d53",
            "event": event,
            "target": "https://talentsync.example/webhooks/merge",
        },
        "linked_account": {
            "id": "0e7cceaa-9b5c-4d44-8606-6e99f2b83026",
            "integration": "BambooHR",
            "integration_slug": "bamboohr",
            "category": "hris",
            "end_user_origin_id": "acme-1",
            "end_user_organization_name": "Acme",
            "status": "COMPLETE",
        },
        "data": employee,
    }


def signed(document: dict[str, Any] | str, *, key: str = KEY) -> tuple[bytes, dict[str, str]]:
    """Sign as Merge does: base64url(HMAC-SHA256(key, raw body))."""
    raw = (document if isinstance(document, str) else json.dumps(document)).encode()
    digest = hmac.new(key.encode(), raw, hashlib.sha256).digest()
    return raw, {"X-Merge-Webhook-Signature": base64.urlsafe_b64encode(digest).decode()}


def source(*keys: str) -> MergeSource:
    return MergeSource([SecretStr(k) for k in keys])


def refused(src: MergeSource, body: bytes, headers: dict[str, str]) -> IntakeError:
    with pytest.raises(IntakeError) as info:
        src.parse(body=body, headers=headers, now=NOW)
    return info.value


@pytest.mark.parametrize(
    ("hook_event", "expected"),
    [
        ("Employee.added", EventType.created),
        ("Employee.changed", EventType.updated),
        ("Employee.removed", EventType.terminated),
    ],
)
def test_the_three_employee_events(hook_event: str, expected: EventType) -> None:
    body, headers = signed(delivery(hook_event))

    event = source(KEY).parse(body=body, headers=headers, now=NOW)

    assert event.type is expected
    assert event.source == "merge"
    assert event.event_id == hashlib.sha256(body).hexdigest()
    assert event.employee_external_id == "19202938"
    assert event.occurred_at == datetime(2021, 10, 16, tzinfo=UTC)


def test_employee_is_mapped_from_the_merge_model() -> None:
    body, headers = signed(delivery())

    employee = source(KEY).parse(body=body, headers=headers, now=NOW).employee

    assert employee is not None
    assert employee.external_id == "19202938"
    assert employee.email == "greg@merge.dev"
    assert (employee.given_name, employee.family_name) == ("Greg", "Hirsch")
    assert employee.preferred_name == "Cousin Greg"
    assert employee.title == "Executive Assistant"
    assert employee.department == "Engineering"
    assert employee.location == "NYC Office"
    assert employee.country == "US"
    assert employee.manager_external_id == "1234"
    assert employee.employment_status is EmploymentStatus.active
    assert employee.worker_type is WorkerType.employee
    assert employee.hire_date == date(2020, 10, 11)
    assert employee.termination_date is None


def test_change_to_inactive_is_a_termination() -> None:
    document = delivery(employment_status="INACTIVE", termination_date="2026-10-31T00:00:00Z")
    body, headers = signed(document)

    event = source(KEY).parse(body=body, headers=headers, now=NOW)

    assert event.type is EventType.terminated
    assert event.employee is not None
    assert event.employee.termination_date == date(2026, 10, 31)


def test_unexpanded_references_do_not_leak_merge_ids() -> None:
    document = delivery(
        employments=["17a54124-287f-494d-965e-3c5b330c9a68"],
        team="249c9faa-3045-4a31-953b-8f22d3613301",
        work_location="9efbc633-3387-4306-aa55-e2c635e6bb4f",
        manager="0048ea5b-911e-4dff-9364-92070dea62ff",
        modified_at=None,
        remote_id=None,
    )
    body, headers = signed(document)

    event = source(KEY).parse(body=body, headers=headers, now=NOW)

    assert event.employee is not None
    assert event.employee.title is None
    assert event.employee.department is None
    assert event.employee.location is None
    assert event.employee.manager_external_id is None
    assert event.employee_external_id == "2"  # employee_number when remote_id is absent
    assert event.occurred_at == NOW


def test_contractor_employment_type() -> None:
    document = delivery(employments=[{"job_title": "Designer", "employment_type": "CONTRACTOR"}])
    body, headers = signed(document)

    employee = source(KEY).parse(body=body, headers=headers, now=NOW).employee

    assert employee is not None
    assert employee.worker_type is WorkerType.contractor


def test_unpadded_signature_is_accepted() -> None:
    body, headers = signed(delivery())
    headers["X-Merge-Webhook-Signature"] = headers["X-Merge-Webhook-Signature"].rstrip("=")

    assert source(KEY).parse(body=body, headers=headers, now=NOW).type is EventType.updated


def test_rotated_key_is_accepted() -> None:
    body, headers = signed(delivery(), key="new-key")

    assert source(KEY, "new-key").parse(body=body, headers=headers, now=NOW).employee


def test_bad_signature_is_401() -> None:
    body, headers = signed(delivery(), key="not-our-key")

    error = refused(source(KEY), body, headers)

    assert error.status == 401


def test_tampered_body_is_401() -> None:
    body, headers = signed(delivery())

    assert refused(source(KEY), body.replace(b"Greg", b"Gerri"), headers).status == 401


def test_hex_signature_is_401() -> None:
    body, _ = signed(delivery())
    hex_signature = hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest()

    assert refused(source(KEY), body, {"X-Merge-Webhook-Signature": hex_signature}).status == 401


def test_missing_signature_is_401() -> None:
    body, _ = signed(delivery())

    assert refused(source(KEY), body, {}).status == 401


def test_no_key_configured_fails_closed() -> None:
    body, headers = signed(delivery())

    error = refused(source(), body, headers)

    assert error.status == 401
    assert "No webhook secret is configured" in error.detail


def test_not_json_is_400() -> None:
    body, headers = signed("{not json")

    error = refused(source(KEY), body, headers)

    assert error.status == 400
    assert error.errors[0].field == "body"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("[" * 5000 + "]" * 5000, "nested deeper than 64 levels"),
        ('{"hook": {"event": ' + "9" * 5000 + "}}", "an integer has 5000 digits"),
        ('{"hook": {"event": -Infinity}}', "-Infinity is not JSON"),
    ],
    ids=["5000-nested-arrays", "5000-digit-integer", "infinity"],
)
def test_a_signed_body_the_parser_cannot_take_is_a_400_on_body(raw: str, reason: str) -> None:
    """Merge signs no timestamp, so the body is the first thing parsed after the HMAC: a
    RecursionError or ValueError out of json.loads was a 500."""
    body, headers = signed(raw)

    error = refused(source(KEY), body, headers)

    assert error.status == 400
    assert [e.field for e in error.errors] == ["body"]
    assert reason in error.errors[0].reason


def test_non_employee_event_is_422_on_hook_event() -> None:
    body, headers = signed(delivery("LinkedAccount.synced"))

    error = refused(source(KEY), body, headers)

    assert error.status == 422
    assert [e.field for e in error.errors] == ["hook.event"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"work_email": None, "personal_email": None}, "data.work_email"),
        ({"work_email": "not-an-email", "personal_email": None}, "data.work_email"),
        ({"first_name": None}, "data.first_name"),
        ({"remote_id": None, "employee_number": None, "id": None}, "data.remote_id"),
        ({"employment_status": "RETIRED"}, "data.employment_status"),
        ({"start_date": "soon"}, "data.start_date"),
    ],
)
def test_unmappable_employee_is_422_naming_the_merge_field(
    data: dict[str, Any], field: str
) -> None:
    body, headers = signed(delivery(**data))

    error = refused(source(KEY), body, headers)

    assert error.status == 422
    assert [e.field for e in error.errors] == [field]
