"""BambooHR event-based webhooks and the REST client.

BambooHR is a hosted service that cannot run here, so the client is exercised against an
``httpx.MockTransport`` answering with the documented JSON shapes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from core.employee import EmploymentStatus, EventType, WorkerType
from tools.hris.bamboohr import BambooHRClient, BambooHRSource, parse_header_timestamp
from tools.hris.errors import HRISFetchError, IntakeError

KEY = "bamboo-private-key-7f3a"
OTHER_KEY = "bamboo-rotated-key-91c2"
BASE_URL = "https://api.bamboohr.com/api/gateway.php/acme"


def event_body(**overrides: Any) -> dict[str, Any]:
    """The event-based JSON format from BambooHR's documentation."""
    body: dict[str, Any] = {
        "type": "employee.updated",
        "timestamp": "2026-01-31T18:42:00+0000",
        "data": {"companyId": "12345", "employeeId": "67890", "changedFields": ["jobTitle"]},
    }
    body.update(overrides)
    return body


def signed(
    body: dict[str, Any] | str, *, key: str = KEY, at: datetime | None = None
) -> tuple[bytes, dict[str, str]]:
    """Sign as BambooHR does: hex HMAC-SHA256 over raw body + timestamp header value."""
    raw = (body if isinstance(body, str) else json.dumps(body)).encode()
    timestamp = str(int((at or datetime.now(UTC)).timestamp()))
    signature = hmac.new(key.encode(), raw + timestamp.encode(), hashlib.sha256).hexdigest()
    return raw, {"X-BambooHR-Signature": signature, "X-BambooHR-Timestamp": timestamp}


def source(*keys: str) -> BambooHRSource:
    return BambooHRSource([SecretStr(k) for k in keys], tolerance_s=300)


def refused(src: BambooHRSource, body: bytes, headers: dict[str, str]) -> IntakeError:
    with pytest.raises(IntakeError) as info:
        src.parse(body=body, headers=headers, now=datetime.now(UTC))
    return info.value


# --- webhooks ----------------------------------------------------------------------------


def test_valid_updated_event_is_thin() -> None:
    body, headers = signed(event_body())

    event = source(KEY).parse(body=body, headers=headers, now=datetime.now(UTC))

    assert event.source == "bamboohr"
    assert event.type is EventType.updated
    assert event.employee is None
    assert event.employee_external_id == "67890"
    assert event.changed_fields == ["jobTitle"]
    assert event.occurred_at == datetime(2026, 1, 31, 18, 42, tzinfo=UTC)
    assert event.event_id == hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("employee.created", EventType.created),
        ("employee.updated", EventType.updated),
        ("employee.deleted", EventType.terminated),
    ],
)
def test_event_types_are_translated(kind: str, expected: EventType) -> None:
    body, headers = signed(event_body(type=kind))

    assert source(KEY).parse(body=body, headers=headers, now=datetime.now(UTC)).type is expected


def test_numeric_employee_id_and_lowercase_headers_are_accepted() -> None:
    document = event_body(data={"companyId": 12345, "employeeId": 67890})
    body, headers = signed(document)
    lower = {k.lower(): v for k, v in headers.items()}

    event = source(KEY).parse(body=body, headers=lower, now=datetime.now(UTC))

    assert event.employee_external_id == "67890"
    assert event.changed_fields == []


def test_any_configured_key_verifies() -> None:
    body, headers = signed(event_body(), key=OTHER_KEY)

    event = source(KEY, OTHER_KEY).parse(body=body, headers=headers, now=datetime.now(UTC))

    assert event.employee_external_id == "67890"


def test_bad_signature_is_401() -> None:
    body, headers = signed(event_body(), key="someone-elses-key")

    error = refused(source(KEY), body, headers)

    assert error.status == 401


def test_tampered_body_is_401() -> None:
    body, headers = signed(event_body())

    assert refused(source(KEY), body.replace(b"67890", b"11111"), headers).status == 401


def test_signature_covers_the_timestamp() -> None:
    body, headers = signed(event_body())
    headers["X-BambooHR-Timestamp"] = str(int(headers["X-BambooHR-Timestamp"]) + 1)

    assert refused(source(KEY), body, headers).status == 401


@pytest.mark.parametrize("missing", ["X-BambooHR-Signature", "X-BambooHR-Timestamp"])
def test_missing_header_is_401(missing: str) -> None:
    body, headers = signed(event_body())
    del headers[missing]

    assert refused(source(KEY), body, headers).status == 401


def test_no_key_configured_fails_closed() -> None:
    body, headers = signed(event_body())

    error = refused(source(), body, headers)

    assert error.status == 401
    assert "No webhook secret is configured" in error.detail


@pytest.mark.parametrize("offset", [timedelta(minutes=-10), timedelta(minutes=10)])
def test_stale_or_future_timestamp_is_400(offset: timedelta) -> None:
    body, headers = signed(event_body(), at=datetime.now(UTC) + offset)

    error = refused(source(KEY), body, headers)

    assert error.status == 400


def test_header_timestamp_formats() -> None:
    assert parse_header_timestamp("1769884920") == datetime(2026, 1, 31, 18, 42, tzinfo=UTC)
    assert parse_header_timestamp("1769884920000") == datetime(2026, 1, 31, 18, 42, tzinfo=UTC)
    assert parse_header_timestamp("2026-01-31T18:42:00Z") == datetime(
        2026, 1, 31, 18, 42, tzinfo=UTC
    )
    with pytest.raises(IntakeError) as info:
        parse_header_timestamp("last tuesday")
    assert info.value.status == 400


@pytest.mark.parametrize(
    "timestamp",
    [
        "9" * 5000,
        "\u00b2",
        "\u0661\u0667" + "\u0660" * 11,
        "1" * 14,
        "2026-01-31T18:42" + "0" * 100,
    ],
    ids=["5000-digits", "superscript-two", "arabic-indic-digits", "14-digits", "long-iso"],
)
def test_an_unreadable_header_timestamp_is_a_400_naming_the_header_shortly(
    timestamp: str,
) -> None:
    """Read before the signature: refused on its form, echoed cut and escaped."""
    body, headers = signed(event_body())
    headers["X-BambooHR-Timestamp"] = timestamp

    error = refused(source(KEY), body, headers)

    assert (error.status, error.title) == (400, "Malformed header")
    assert [e.field for e in error.errors] == ["X-BambooHR-Timestamp"]
    assert len(error.detail) < 200


def test_a_signed_body_nested_5000_deep_is_a_400_on_body() -> None:
    body, headers = signed("[" * 5000 + "]" * 5000)

    error = refused(source(KEY), body, headers)

    assert error.status == 400
    assert [e.field for e in error.errors] == ["body"]


def test_not_json_is_400() -> None:
    body, headers = signed("employeeId=67890")

    error = refused(source(KEY), body, headers)

    assert error.status == 400
    assert error.errors[0].field == "body"


def test_legacy_multi_employee_payload_is_422() -> None:
    legacy = {"employees": [{"id": "1", "changedFields": ["jobTitle"], "fields": {}}]}
    body, headers = signed(legacy)

    error = refused(source(KEY), body, headers)

    assert error.status == 422
    assert error.errors[0].field == "employees"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (event_body(type="employee.promoted"), "type"),
        (event_body(data={"companyId": "1"}), "data.employeeId"),
        (event_body(data={"employeeId": "../admin"}), "data.employeeId"),
        (event_body(data={"employeeId": "1", "changedFields": "jobTitle"}), "data.changedFields"),
    ],
)
def test_schema_errors_are_422_naming_the_field(document: dict[str, Any], field: str) -> None:
    body, headers = signed(document)

    error = refused(source(KEY), body, headers)

    assert error.status == 422
    assert [e.field for e in error.errors] == [field]


def test_missing_body_timestamp_falls_back_to_the_signed_header() -> None:
    document = event_body()
    del document["timestamp"]
    now = datetime.now(UTC)
    body, headers = signed(document, at=now)

    event = source(KEY).parse(body=body, headers=headers, now=now)

    assert event.occurred_at == datetime.fromtimestamp(int(now.timestamp()), tz=UTC)


# --- REST client -------------------------------------------------------------------------

BAMBOO_EMPLOYEE = {
    "id": "67890",
    "firstName": "Ada",
    "lastName": "Lovelace",
    "preferredName": "",
    "workEmail": "ada.lovelace@acme.example",
    "jobTitle": "Senior Software Engineer",
    "department": "Engineering",
    "location": "Berlin",
    "country": "Germany",
    "supervisorEId": "4021",
    "status": "Active",
    "employmentHistoryStatus": "Full-Time",
    "hireDate": "2024-03-04",
    "terminationDate": "0000-00-00",
    "employeeNumber": "1042",
}


class Recorder:
    """A transport-level fake of BambooHR that remembers what it was asked."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]


def client(recorder: Recorder) -> BambooHRClient:
    http = httpx.Client(transport=httpx.MockTransport(recorder))
    return BambooHRClient(BASE_URL, "api-key-123", http, max_attempts=3, backoff_s=0)


def test_fetch_employee_maps_the_record_and_sends_the_documented_request() -> None:
    recorder = Recorder(httpx.Response(200, json=BAMBOO_EMPLOYEE))

    employee = client(recorder).fetch_employee("67890")

    assert employee.external_id == "67890"
    assert employee.email == "ada.lovelace@acme.example"
    assert (employee.given_name, employee.family_name) == ("Ada", "Lovelace")
    assert employee.preferred_name is None
    assert employee.title == "Senior Software Engineer"
    assert employee.department == "Engineering"
    assert employee.location == "Berlin"
    assert employee.country == "DE"
    assert employee.manager_external_id == "4021"
    assert employee.employment_status is EmploymentStatus.active
    assert employee.worker_type is WorkerType.employee
    assert employee.hire_date == date(2024, 3, 4)
    assert employee.termination_date is None

    (request,) = recorder.requests
    assert request.method == "GET"
    assert request.url.path == "/api/gateway.php/acme/v1/employees/67890/"
    fields = request.url.params["fields"].split(",")
    assert {"firstName", "workEmail", "supervisorEId", "status", "terminationDate"} <= set(fields)
    assert request.headers["Accept"] == "application/json"
    expected_auth = base64.b64encode(b"api-key-123:x").decode()
    assert request.headers["Authorization"] == f"Basic {expected_auth}"


def test_inactive_contractor_with_unknown_country() -> None:
    record = {
        **BAMBOO_EMPLOYEE,
        "status": "Inactive",
        "employmentHistoryStatus": "Contractor",
        "country": "Atlantis",
        "terminationDate": "2026-02-28",
    }

    employee = client(Recorder(httpx.Response(200, json=record))).fetch_employee("67890")

    assert employee.employment_status is EmploymentStatus.inactive
    assert employee.worker_type is WorkerType.contractor
    assert employee.country is None
    assert employee.termination_date == date(2026, 2, 28)


def test_404_is_permanent_and_not_retried() -> None:
    recorder = Recorder(httpx.Response(404))

    with pytest.raises(HRISFetchError) as info:
        client(recorder).fetch_employee("404404")

    assert info.value.transient is False
    assert info.value.status_code == 404
    assert len(recorder.requests) == 1


def test_401_is_permanent() -> None:
    with pytest.raises(HRISFetchError) as info:
        client(Recorder(httpx.Response(401))).fetch_employee("67890")

    assert info.value.transient is False


def test_503_is_transient_after_retries() -> None:
    recorder = Recorder(httpx.Response(503))

    with pytest.raises(HRISFetchError) as info:
        client(recorder).fetch_employee("67890")

    assert info.value.transient is True
    assert info.value.status_code == 503
    assert len(recorder.requests) == 3


def test_transient_failure_then_success_recovers() -> None:
    recorder = Recorder(httpx.Response(429), httpx.Response(200, json=BAMBOO_EMPLOYEE))

    employee = client(recorder).fetch_employee("67890")

    assert employee.external_id == "67890"
    assert len(recorder.requests) == 2


def test_network_error_is_transient() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    http = httpx.Client(transport=httpx.MockTransport(unreachable))
    bamboo = BambooHRClient(BASE_URL, "k", http, max_attempts=1, backoff_s=0)

    with pytest.raises(HRISFetchError) as info:
        bamboo.fetch_employee("67890")

    assert info.value.transient is True


def test_unmappable_record_is_permanent_and_names_the_bamboo_field() -> None:
    record = {**BAMBOO_EMPLOYEE, "workEmail": ""}

    with pytest.raises(HRISFetchError) as info:
        client(Recorder(httpx.Response(200, json=record))).fetch_employee("67890")

    assert info.value.transient is False
    assert "workEmail" in info.value.detail


def test_non_numeric_id_is_refused_without_a_request() -> None:
    recorder = Recorder(httpx.Response(200, json=BAMBOO_EMPLOYEE))

    with pytest.raises(HRISFetchError) as info:
        client(recorder).fetch_employee("../../admin")

    assert info.value.transient is False
    assert recorder.requests == []
