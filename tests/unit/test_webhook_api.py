"""`POST /webhooks/{source}` over HTTP: every answer of the intake contract, and that a
refused delivery never reaches the inbox. The sender signs with the `standardwebhooks`
library, as a real Standard Webhooks sender would."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook

from api.app import create_app
from api.routes import webhooks
from core import audit, inbox
from core.audit import AuditAction, AuditFilter
from core.settings import Settings
from tests.factories import make_standard_body
from tools.hris import merge
from tools.hris.errors import IntakeError

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MERGE_KEY = "merge-test-key"
ADMIN_KEY = "admin-test-key"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        var_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/api.db",
        webhook_secrets_standard=[SecretStr(SECRET)],
        webhook_secrets_merge=[SecretStr(MERGE_KEY)],
        admin_api_key=SecretStr(ADMIN_KEY),
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _post(
    client: TestClient,
    body: dict[str, Any] | bytes,
    *,
    msg_id: str = "msg_1",
    sent_at: datetime | None = None,
    secret: str = SECRET,
    content_type: str = "application/json",
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent_at = sent_at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, sent_at, raw.decode("utf-8", "replace"))
    headers = {
        "content-type": content_type,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }
    return client.post("/webhooks/standard", content=raw, headers=headers)


def _open_events(client: TestClient) -> int:
    return inbox.open_count(client.app.state.services.engine)  # type: ignore[attr-defined]


def test_new_event_is_accepted_with_a_receipt_and_stored(client: TestClient) -> None:
    response = _post(client, make_standard_body())
    assert response.status_code == 202
    receipt = response.json()
    assert receipt["status"] == "accepted" and receipt["receipt_id"].startswith("rcpt_")
    assert _open_events(client) == 1


def test_same_event_three_times_is_one_row_and_the_same_receipt(client: TestClient) -> None:
    body = make_standard_body()
    answers = [_post(client, body, msg_id="msg_dup") for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 200, 200]
    assert len({a.json()["receipt_id"] for a in answers}) == 1
    assert answers[1].json()["status"] == "duplicate"
    assert _open_events(client) == 1


def test_a_delivery_the_database_refuses_is_a_503_problem_and_not_stored(
    client: TestClient,
) -> None:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    with engine.begin() as connection:  # a real database error for this one event
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON inbox_event "
            "WHEN NEW.event_id = 'msg_poison' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    response = _post(client, make_standard_body(), msg_id="msg_poison")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Not stored"
    assert _open_events(client) == 0
    assert audit.query(engine) == []
    assert (
        _post(client, make_standard_body(), msg_id="msg_next").status_code == 202
    )  # intake goes on


@pytest.mark.parametrize(
    ("sender", "status"),
    [
        ({"secret": "whsec_" + "A" * 32}, 401),
        ({"skew": timedelta(minutes=-6)}, 400),
        ({"skew": timedelta(minutes=6)}, 400),
    ],
    ids=["forged-signature", "stale-timestamp", "future-timestamp"],
)
def test_untrusted_deliveries_are_refused_and_not_stored(
    client: TestClient, sender: dict[str, Any], status: int
) -> None:
    if "skew" in sender:  # computed now, not at collection time: slow suites ran before
        sender = {"sent_at": datetime.now(UTC) + sender["skew"]}
    response = _post(client, make_standard_body(), **sender)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert _open_events(client) == 0


def test_tampered_body_is_refused(client: TestClient) -> None:
    raw = json.dumps(make_standard_body()).encode()
    sent_at = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "webhook-id": "msg_t",
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(SECRET).sign("msg_t", sent_at, raw.decode()),
    }
    tampered = raw.replace(b"Engineering", b"Executives!")
    assert client.post("/webhooks/standard", content=tampered, headers=headers).status_code == 401
    assert _open_events(client) == 0


def test_missing_signature_headers_are_401(client: TestClient) -> None:
    response = client.post("/webhooks/standard", json=make_standard_body())
    assert response.status_code == 401
    assert _open_events(client) == 0


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["data"].pop("external_id"), "data.external_id"),
        (lambda b: b["data"].update(hire_date=12), "data.hire_date"),
        (lambda b: b["data"].update(email="not-an-email"), "data.email"),
        (lambda b: b.update(type="employee.promoted"), "type"),
    ],
    ids=["missing-external-id", "wrong-type", "bad-email", "unknown-event-type"],
)
def test_schema_errors_are_422_naming_the_field(
    client: TestClient, mutate: Any, field: str
) -> None:
    body = make_standard_body()
    mutate(body)
    response = _post(client, body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert field in [e["field"] for e in problem["errors"]]
    assert all(e["reason"] for e in problem["errors"])
    assert _open_events(client) == 0


def test_not_json_is_415(client: TestClient) -> None:
    response = _post(client, b"employee=E1", content_type="text/plain")
    assert response.status_code == 415
    assert _open_events(client) == 0


def test_undecodable_json_is_400(client: TestClient) -> None:
    response = _post(client, b'{"type": "employee.created",')
    assert response.status_code == 400
    assert _open_events(client) == 0


@pytest.mark.parametrize(
    "timestamp",
    [b"9" * 5000, "\u00b2".encode("latin-1"), b"1700000000\xb2"],
    ids=["5000-digits", "superscript-two", "digits-then-superscript"],
)
def test_an_unreadable_timestamp_is_a_400_naming_the_header_and_no_traceback(
    client: TestClient, timestamp: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Unauthenticated: it reached int() before the signature check (a 500 and a
    70-line traceback in the log for anyone who sent it)."""
    headers = {
        b"content-type": b"application/json",
        b"webhook-id": b"msg_ts",
        b"webhook-timestamp": timestamp,  # bytes: sent as is, decoded latin-1 by the server
        b"webhook-signature": b"v1,c2lnbmF0dXJl",
    }
    with caplog.at_level(logging.DEBUG):
        response = client.post("/webhooks/standard", content=b"{}", headers=headers)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Malformed header"
    assert [e["field"] for e in problem["errors"]] == ["webhook-timestamp"]
    assert "ASCII digits" in problem["errors"][0]["reason"] and len(problem["detail"]) < 200
    assert [r for r in caplog.records if r.exc_info] == []
    assert _open_events(client) == 0


def _nested(arrays: int) -> bytes:
    """An object holding ``arrays`` nested arrays: ``arrays + 1`` levels."""
    return b'{"type": ' + b"[" * arrays + b"]" * arrays + b"}"


UNACCEPTABLE_BODIES = {
    "5000-nested-arrays": (_nested(5000), "nested deeper than 64 levels"),
    "65-levels": (_nested(64), "nested deeper than 64 levels"),
    "5000-digit-integer": (b'{"type": ' + b"7" * 5000 + b"}", "an integer has 5000 digits"),
    "1e999": (b'{"timestamp": 1e999}', "too large for a double"),
    "NaN": (b'{"timestamp": NaN}', "NaN is not JSON"),
    "NUL-in-a-string": (b'{"type": "employee.created\\u0000"}', "U+0000"),
}


def _signed_post(client: TestClient, source: str, raw: bytes) -> Any:
    headers = {"content-type": "application/json"}
    if source == "merge":
        headers[merge.SIGNATURE_HEADER] = merge.sign(MERGE_KEY, raw)
    else:
        sent_at = datetime.now(UTC)
        headers |= {
            "webhook-id": "msg_deep",
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": Webhook(SECRET).sign("msg_deep", sent_at, raw),
        }
    return client.post(f"/webhooks/{source}", content=raw, headers=headers)


@pytest.mark.parametrize("source", ["standard", "merge"])
@pytest.mark.parametrize("kind", sorted(UNACCEPTABLE_BODIES))
def test_a_signed_body_the_parser_cannot_take_is_a_400_and_never_stored(
    client: TestClient, source: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Signed, so past the signature check: a sender's bug or a leaked key. Deep nesting
    was a RecursionError and a long integer a ValueError out of json.loads (500s)."""
    raw, reason = UNACCEPTABLE_BODIES[kind]

    with caplog.at_level(logging.DEBUG):
        response = _signed_post(client, source, raw)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Malformed body"
    assert [e["field"] for e in problem["errors"]] == ["body"]
    assert reason in problem["errors"][0]["reason"]
    assert [r for r in caplog.records if r.exc_info] == []
    assert _open_events(client) == 0


def test_a_body_nested_64_levels_still_reaches_the_schema(client: TestClient) -> None:
    """The depth limit is a limit, not a ban on nesting: 64 levels are read and judged."""
    response = _signed_post(client, "standard", _nested(63))
    assert response.status_code == 422
    assert "type" in {e["field"] for e in response.json()["errors"]}


def test_too_big_is_413_before_anything_else(client: TestClient) -> None:
    body = make_standard_body()
    body["data"]["title"] = "x" * (257 * 1024)
    response = _post(client, body)
    assert response.status_code == 413
    assert _open_events(client) == 0


def test_unknown_source_is_404(client: TestClient) -> None:
    response = client.post("/webhooks/workday", json=make_standard_body())
    assert response.status_code == 404


def test_admin_endpoints_need_the_admin_key(client: TestClient) -> None:
    assert client.get("/admin/dead-letters").status_code == 401
    forged = {"authorization": "Bearer not-the-key"}
    assert client.get("/admin/dead-letters", headers=forged).status_code == 401
    good = {"authorization": f"Bearer {ADMIN_KEY}"}
    assert client.get("/admin/dead-letters", headers=good).json() == []
    missing = client.post("/admin/dead-letters/rcpt_nope/replay", headers=good)
    assert missing.status_code == 404


def test_a_dead_letter_is_replayed_through_the_api_once(client: TestClient) -> None:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    receipt = _post(client, make_standard_body()).json()["receipt_id"]
    claim = inbox.claim_next(engine, worker_id="w", lease_s=30)
    assert claim is not None
    inbox.fail(engine, claim=claim, error="LMSRejected: 400", max_attempts=1, base_s=0, max_s=0)
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    dead = client.get("/admin/dead-letters", headers=admin).json()
    assert [d["id"] for d in dead] == [receipt]
    assert dead[0]["last_error"] == "LMSRejected: 400"
    assert "payload" not in dead[0]  # personal data stays out of the admin listing

    replayed = client.post(f"/admin/dead-letters/{receipt}/replay", headers=admin)
    assert replayed.status_code == 200
    assert replayed.json()["status"] == "pending"
    again = client.post(f"/admin/dead-letters/{receipt}/replay", headers=admin)
    assert again.status_code == 409
    assert _open_events(client) == 1


def test_an_accepted_event_opens_the_persons_audit_history_once(client: TestClient) -> None:
    body = make_standard_body()
    external_id = body["data"]["external_id"]
    first = _post(client, body, msg_id="msg_audit")
    _post(client, body, msg_id="msg_audit")  # a duplicate delivery is not a second event

    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    entries = audit.query(engine, where=AuditFilter(action=AuditAction.event_received))
    assert len(entries) == 1
    entry = entries[0]
    assert entry.receipt_id == first.json()["receipt_id"]
    assert entry.actor == "hris:standard" and entry.subject is not None
    assert entry.subject.startswith("emp_") and external_id not in str(entry.subject)
    assert audit.verify(engine).ok


@pytest.mark.parametrize(
    ("declared", "status"),
    [("\u00b2".encode("latin-1"), None), (b"9" * 5000, 413), (b"262145", 413), (b"2", None)],
    ids=["superscript-two", "5000-digits", "one-over", "small"],
)
def test_a_declared_content_length_is_read_as_ascii_digits_only(
    declared: bytes, status: int | None
) -> None:
    """isdigit() took '²' and int() then raised (a 500); an absurd length is over the
    limit without converting it. An unreadable header is ignored: the stream is counted."""
    sent = [{"type": "http.request", "body": b"{}", "more_body": False}]

    async def receive() -> dict[str, Any]:
        return sent.pop(0)

    request = Request(
        {"type": "http", "method": "POST", "headers": [(b"content-length", declared)]}, receive
    )

    async def read() -> bytes:
        return await webhooks._read_body(request, 256 * 1024)

    if status is None:
        assert asyncio.run(read()) == b"{}"
    else:
        with pytest.raises(IntakeError) as refused:
            asyncio.run(read())
        assert refused.value.status == status
