"""A thin BambooHR webhook end to end: signed delivery -> inbox -> the worker fetches the full
record over HTTP from a BambooHR-compatible server -> SCIM. BambooHR itself is hosted and
cannot run here, so a local HTTP server answers with its documented JSON."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from agents.runtime.workers import open_workers
from api.app import create_app
from core import inbox
from core.catalog import load_catalog
from core.settings import Settings
from tests.factories import NO_REVIEW_POLICY
from tools.lms.sandbox import SandboxServer
from tools.lms.scim import ScimLMS

KEY = "bamboo-private-key-7f3a"
API_KEY = "bamboo-api-key"
RECORD = {
    "id": "67890",
    "firstName": "Zoë",
    "lastName": "Müller",
    "preferredName": "",
    "workEmail": "zoe.mueller@acme.example",
    "jobTitle": "Staff Accountant",
    "department": "Finance",
    "location": "Berlin",
    "country": "Germany",
    "supervisorEId": "",
    "status": "Active",
    "employmentHistoryStatus": "Full-Time",
    "hireDate": "2026-02-02",
    "terminationDate": "0000-00-00",
}


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def bamboohr() -> Iterator[tuple[str, list[str]]]:
    """A BambooHR API stand-in on an ephemeral port; yields (base URL, requested paths)."""
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        seen.append(environ["PATH_INFO"])
        expected = "Basic " + base64.b64encode(f"{API_KEY}:x".encode()).decode()
        if environ.get("HTTP_AUTHORIZATION") != expected:
            start_response("401 Unauthorized", [("Content-Type", "application/json")])
            return [b"{}"]
        if environ["PATH_INFO"] != f"/api/gateway.php/acme/v1/employees/{RECORD['id']}/":
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b"{}"]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(RECORD).encode()]

    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/gateway.php/acme", seen
    server.shutdown()
    server.server_close()


def _signed(body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    timestamp = str(int(datetime.now(UTC).timestamp()))
    signature = hmac.new(KEY.encode(), raw + timestamp.encode(), hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/json",
        "X-BambooHR-Signature": signature,
        "X-BambooHR-Timestamp": timestamp,
    }
    return raw, headers


def test_thin_bamboohr_event_is_hydrated_from_the_api_and_provisioned(
    database_url: str, engine: Engine, tmp_path: Path, bamboohr: tuple[str, list[str]]
) -> None:
    base_url, seen = bamboohr
    catalog = load_catalog()
    with SandboxServer(catalog) as sandbox:
        settings = Settings(
            var_dir=tmp_path,
            database_url=database_url,
            lms_url=sandbox.base_url,
            webhook_secrets_bamboohr=[SecretStr(KEY)],
            bamboohr_base_url=base_url,
            bamboohr_api_key=SecretStr(API_KEY),
            review_policy_path=NO_REVIEW_POLICY,  # this test is about hydration, not review
        )
        body = {
            "type": "employee.created",
            "timestamp": datetime.now(UTC).isoformat(),
            "data": {"companyId": "1", "employeeId": RECORD["id"], "changedFields": []},
        }
        raw, headers = _signed(body)
        with TestClient(create_app(settings)) as client:
            response = client.post("/webhooks/bamboohr", content=raw, headers=headers)
        assert response.status_code == 202, response.text
        assert seen == []  # nothing fetched on the request path

        with open_workers(settings, engine, count=1) as (worker,):
            worker.drain(timeout_s=30)
        assert inbox.status_counts(engine)["applied"] == 1
        assert seen == [f"/api/gateway.php/acme/v1/employees/{RECORD['id']}/"]

        lms = ScimLMS.from_settings(settings)
        user = lms.find_user(RECORD["id"])
        assert user is not None
        assert user.active
        assert user.user_name == RECORD["workEmail"]
        assert user.family_name == "Müller"
        by_id = {g.id: ext for ext, g in lms.groups().items()}
        groups = {by_id[g] for g in lms.member_group_ids(user.id)}
        assert {"dept-finance", "site-berlin"} <= groups
