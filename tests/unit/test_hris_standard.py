"""Standard Webhooks intake, signed by the reference library exactly as a sender would."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook

from core.employee import EventType
from core.settings import Settings
from tests.factories import make_employee
from tools.hris.errors import IntakeError
from tools.hris.source import get_header
from tools.hris.sources import SOURCE_NAMES, build_sources
from tools.hris.standard import StandardWebhookSource

OLD_SECRET = "whsec_" + base64.b64encode(b"talentsync-old-secret-32-bytes!!").decode()
NEW_SECRET = "whsec_" + base64.b64encode(b"talentsync-new-secret-32-bytes!!").decode()
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"


def source(*secrets: str, tolerance_s: int = 300) -> StandardWebhookSource:
    return StandardWebhookSource([SecretStr(s) for s in secrets], tolerance_s)


def payload(**overrides: Any) -> dict[str, Any]:
    employee = make_employee(external_id="E-4242", email="ada@example.com")
    body: dict[str, Any] = {
        "type": "employee.created",
        "timestamp": "2026-11-01T09:00:00+00:00",
        "data": employee.model_dump(mode="json"),
    }
    body.update(overrides)
    return body


def signed(
    body: dict[str, Any] | str,
    *,
    secret: str = NEW_SECRET,
    at: datetime | None = None,
    msg_id: str = MSG_ID,
) -> tuple[bytes, dict[str, str]]:
    """Sign like a Standard Webhooks sender does, with the reference library."""
    at = at or datetime.now(UTC)
    text = body if isinstance(body, str) else json.dumps(body)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, text),
    }
    return text.encode(), headers


def refused(src: StandardWebhookSource, body: bytes, headers: dict[str, str]) -> IntakeError:
    with pytest.raises(IntakeError) as info:
        src.parse(body=body, headers=headers, now=datetime.now(UTC))
    return info.value


def test_valid_delivery_becomes_the_canonical_event() -> None:
    body, headers = signed(payload(changed_fields=["title"]))

    event = source(NEW_SECRET).parse(body=body, headers=headers, now=datetime.now(UTC))

    assert event.event_id == MSG_ID
    assert event.source == "standard"
    assert event.type is EventType.created
    assert event.occurred_at == datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    assert event.employee_external_id == "E-4242"
    assert event.employee is not None
    assert event.employee.email == "ada@example.com"
    assert event.changed_fields == ["title"]


def test_header_names_are_case_insensitive() -> None:
    body, headers = signed(payload())
    shouting = {k.upper(): v for k, v in headers.items()}

    event = source(NEW_SECRET).parse(body=body, headers=shouting, now=datetime.now(UTC))

    assert event.event_id == MSG_ID
    assert get_header({"Webhook-Id": "x"}, "WEBHOOK-ID") == "x"


@pytest.mark.parametrize("sender_secret", [NEW_SECRET, OLD_SECRET])
def test_rotation_accepts_old_and_new_secret(sender_secret: str) -> None:
    body, headers = signed(payload(), secret=sender_secret)

    event = source(OLD_SECRET, NEW_SECRET).parse(body=body, headers=headers, now=datetime.now(UTC))

    assert event.event_id == MSG_ID


def test_rotation_sender_signing_with_both_secrets_is_accepted() -> None:
    document, at = payload(), datetime.now(UTC)
    body, headers = signed(document, secret=OLD_SECRET, at=at)
    _, new_headers = signed(document, secret=NEW_SECRET, at=at)
    headers["webhook-signature"] += " " + new_headers["webhook-signature"]

    event = source(NEW_SECRET).parse(body=body, headers=headers, now=datetime.now(UTC))

    assert event.type is EventType.created


def test_secret_not_configured_on_receiver_is_refused() -> None:
    body, headers = signed(payload(), secret=NEW_SECRET)

    error = refused(source(OLD_SECRET), body, headers)

    assert error.status == 401


def test_tampered_body_is_refused() -> None:
    body, headers = signed(payload())
    tampered = body.replace(b"ada@example.com", b"eve@example.com")
    assert tampered != body

    error = refused(source(NEW_SECRET), tampered, headers)

    assert error.status == 401
    assert error.title == "Invalid signature"


def test_malformed_signature_header_is_a_401_not_a_crash() -> None:
    body, headers = signed(payload())
    headers["webhook-signature"] = "garbage-without-version"

    assert refused(source(NEW_SECRET), body, headers).status == 401


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_timestamp_outside_tolerance_is_400(offset: timedelta) -> None:
    body, headers = signed(payload(), at=datetime.now(UTC) + offset)

    error = refused(source(NEW_SECRET), body, headers)

    assert error.status == 400
    assert error.title == "Timestamp out of tolerance"


def test_timestamp_just_inside_tolerance_is_accepted() -> None:
    body, headers = signed(payload(), at=datetime.now(UTC) - timedelta(minutes=4))

    event = source(NEW_SECRET).parse(body=body, headers=headers, now=datetime.now(UTC))

    assert event.event_id == MSG_ID


def test_non_integer_timestamp_is_400() -> None:
    body, headers = signed(payload())
    headers["webhook-timestamp"] = "yesterday"

    assert refused(source(NEW_SECRET), body, headers).status == 400


@pytest.mark.parametrize(
    "timestamp",
    [
        "9" * 5000,  # int() refuses more than 4,300 digits: was a ValueError, a 500
        "²",  # isdigit() is True, int() raises: was a 500
        "\u0661\u0667" + "\u0660" * 8,  # Arabic-Indic 1700000000: int() reads it, the spec not
        "1" * 13,
        "-1700000000",
        "1700000000.5",
    ],
)
def test_unreadable_timestamp_is_a_400_naming_the_header_before_any_int(timestamp: str) -> None:
    body, headers = signed(payload())
    headers["webhook-timestamp"] = timestamp

    error = refused(source(NEW_SECRET), body, headers)

    assert (error.status, error.title) == (400, "Malformed header")
    assert [e.field for e in error.errors] == ["webhook-timestamp"]
    assert "ASCII digits" in error.errors[0].reason
    assert len(error.detail) < 200  # the value is shown cut and escaped, never whole


@pytest.mark.parametrize(
    ("webhook_id", "shown"),
    [
        ("msg_" + "A" * 5000, f"'msg_{'A' * 60}'... (5004 chars)"),
        ("msg_1\r\n2026-12-07 INFO forged line\x1b[2J", "'msg_1\\r\\n2026-12-07 INFO"),
    ],
)
def test_a_refused_webhook_id_is_logged_short_and_escaped(
    webhook_id: str, shown: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Logged before anything authenticates it: the sender chooses its length and bytes."""
    body, headers = signed(payload(), secret=OLD_SECRET)
    headers["webhook-id"] = webhook_id

    with caplog.at_level(logging.DEBUG, logger="tools.hris"):
        assert refused(source(NEW_SECRET), body, headers).status == 401

    lines = [r.getMessage() for r in caplog.records]
    assert any(shown in line for line in lines)
    assert all(len(line) < 200 and not {"\r", "\n", "\x1b"} & set(line) for line in lines)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_401(missing: str) -> None:
    body, headers = signed(payload())
    del headers[missing]

    error = refused(source(NEW_SECRET), body, headers)

    assert error.status == 401
    assert missing in error.detail


def test_no_secret_configured_fails_closed() -> None:
    body, headers = signed(payload())

    error = refused(source(), body, headers)

    assert error.status == 401
    assert "No webhook secret is configured" in error.detail


def test_body_that_is_not_json_is_400_on_field_body() -> None:
    body, headers = signed("this is not json")

    error = refused(source(NEW_SECRET), body, headers)

    assert error.status == 400
    assert [e.field for e in error.errors] == ["body"]


def test_unsigned_garbage_is_401_before_json_is_looked_at() -> None:
    _, headers = signed(payload())

    assert refused(source(NEW_SECRET), b"not json either", headers).status == 401


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["data"].pop("external_id"), "data.external_id"),
        (lambda b: b["data"].update(given_name=123), "data.given_name"),
        (lambda b: b["data"].update(email="not-an-email"), "data.email"),
        (lambda b: b["data"].update(hire_date="someday"), "data.hire_date"),
        (lambda b: b.update(type="employee.promoted"), "type"),
        (lambda b: b.update(timestamp="2026-11-01T09:00:00"), "timestamp"),
        (lambda b: b.update(changed_fields="title"), "changed_fields"),
        (lambda b: b["data"].update(salary=1), "data.salary"),
    ],
)
def test_schema_errors_are_422_naming_the_field(mutate: Any, field: str) -> None:
    document = payload()
    mutate(document)
    body, headers = signed(document)

    error = refused(source(NEW_SECRET), body, headers)

    assert error.status == 422
    assert [e.field for e in error.errors] == [field]
    assert error.errors[0].reason


def test_json_array_body_is_422_on_body() -> None:
    body, headers = signed("[1, 2]")

    error = refused(source(NEW_SECRET), body, headers)

    assert error.status == 422
    assert [e.field for e in error.errors] == ["body"]


def test_tolerance_is_clamped_to_the_library_window() -> None:
    assert source(NEW_SECRET, tolerance_s=900).tolerance_s == 300
    assert source(NEW_SECRET, tolerance_s=60).tolerance_s == 60


def test_shorter_tolerance_is_enforced() -> None:
    body, headers = signed(payload(), at=datetime.now(UTC) - timedelta(seconds=120))

    error = refused(source(NEW_SECRET, tolerance_s=60), body, headers)

    assert error.status == 400


def test_unusable_secret_fails_at_construction_without_leaking_it() -> None:
    with pytest.raises(ValueError, match="secret #1") as info:
        source("whsec_!!!not-base64!!!")
    assert "not-base64" not in str(info.value)


def test_build_sources_keys_every_source() -> None:
    settings = Settings(_env_file=None, webhook_secrets_standard=[SecretStr(NEW_SECRET)])

    sources = build_sources(settings)

    assert set(sources) == {"standard", "bamboohr", "merge"} == set(SOURCE_NAMES)
    assert all(name == src.name for name, src in sources.items())
    body, headers = signed(payload())
    event = sources["standard"].parse(body=body, headers=headers, now=datetime.now(UTC))
    assert event.event_id == MSG_ID
