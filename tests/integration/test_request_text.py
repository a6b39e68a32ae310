"""A NUL (U+0000) in a path, a query, a bulk id or a signed webhook body is a 4xx problem
naming where it was, on both databases. SQLite took it; PostgreSQL refused to bind it and
every one of these was a 500 there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook

from api.app import create_app
from core import inbox
from core.settings import Settings
from tests.factories import make_employee

ADMIN = {"Authorization": "Bearer nul-admin-key"}
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        var_dir=tmp_path,
        database_url=database_url,
        admin_api_key=SecretStr("nul-admin-key"),
        webhook_secrets_standard=[SecretStr(SECRET)],
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _problem(response: Any) -> list[str]:
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("GET", "/reviews/rev_a%00b", "path"),
        ("POST", "/reviews/rev_a%00b/reveal", "path"),
        ("DELETE", "/admin/employees/E%001", "path"),
        ("POST", "/admin/dead-letters/rcpt_%00/replay", "path"),
        ("GET", "/audit?rule=a%00b", "rule"),
        ("GET", "/audit?actor=%00", "actor"),
        ("GET", "/reviews?after=rev_%00", "after"),
        ("GET", "/ui/reviews?rule=%00", "rule"),
    ],
)
def test_a_nul_in_a_path_or_query_is_a_422_naming_it(
    client: TestClient, method: str, url: str, field: str
) -> None:
    assert _problem(client.request(method, url, headers=ADMIN)) == [field]


def test_a_nul_in_a_bulk_decision_id_is_a_422_naming_it(client: TestClient) -> None:
    response = client.post(
        "/reviews/decisions",
        json={"ids": ["rev_ok", "rev_a\x00b"], "response": {"type": "accept"}},
        headers=ADMIN,
    )
    assert _problem(response) == ["ids.1"]


def test_a_nul_in_a_signed_webhook_body_is_a_400_and_nothing_is_stored(
    client: TestClient,
) -> None:
    employee = make_employee().model_dump(mode="json") | {"external_id": "E\x001"}
    raw = json.dumps(
        {"type": "employee.created", "timestamp": "2026-11-20T08:00:00+00:00", "data": employee}
    ).encode()
    sent_at = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "webhook-id": "msg_nul",
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(SECRET).sign("msg_nul", sent_at, raw),
    }
    assert _problem(client.post("/webhooks/standard", content=raw, headers=headers)) == ["body"]
    assert inbox.open_count(client.app.state.services.engine) == 0  # type: ignore[attr-defined]
