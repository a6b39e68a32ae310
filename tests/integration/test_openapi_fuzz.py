"""Schemathesis over the app's own OpenAPI document: every operation, with valid and with
invalid input, as the admin, against the real app on a real database (SQLite, then
PostgreSQL) holding reviews, inbox rows (one a dead letter) and audit entries. No answer
may be a 5xx, and every answer must be one the document declares, with its media type
and body schema.

Bounded and deterministic (``derandomize``): the same examples on every run, so a failure
here is a regression, not luck. Operations with ids in their path run once more with the
seeded ids, so their success paths are fuzzed too (random ids only ever find 404s).
Webhook routes need signatures, so they see 401s (documented); signed bodies are covered
by ``tests/unit/test_webhook_api.py``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from pydantic import SecretStr
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from schemathesis.errors import FailureGroup
from schemathesis.python.asgi import shutdown_lifespans
from standardwebhooks.webhooks import Webhook

from api.app import create_app
from core import audit
from core.db import make_engine, session_scope
from core.inbox import InboxEvent, InboxStatus
from core.schema import create_tables
from core.settings import Settings
from core.vault import load_keys
from tests.conftest import _postgres_database
from tests.factories import make_employee
from tests.review_ui_data import park_review
from tools.hris import intake
from tools.hris.sources import build_sources

ADMIN_KEY = "fuzz-admin-key"
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MAX_EXAMPLES = 25
"""Per operation and run (valid input, invalid input, valid input on seeded ids)."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ_SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # every failure is collected, none shrunk
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
# schemathesis yields its operations unparametrised: any parameter, response and schema types
Operation = APIOperation[Any, Any, Any, Any]


@dataclass(frozen=True)
class Target:
    app: FastAPI
    known_ids: dict[str, str]
    """Path parameter -> an id that exists in the seeded database."""


def _signed_delivery(n: int) -> tuple[bytes, dict[str, str]]:
    body = {
        "type": "employee.created",
        "timestamp": "2026-11-20T08:00:00+00:00",
        "data": make_employee(external_id=f"E-fuzz-{n}").model_dump(mode="json"),
    }
    raw = json.dumps(body).encode()
    now, msg_id = datetime.now(UTC), f"msg_fuzz_{n}"
    return raw, {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(SECRET).sign(msg_id, now, raw),
    }


def _seed(settings: Settings) -> dict[str, str]:
    """Rows for the readers to find: parked reviews, and deliveries taken in by the intake
    itself (inbox rows and their ``event_received`` audit entries), one made a dead letter."""
    engine = make_engine(settings.database_url)
    create_tables(engine)
    reviews = [park_review(engine, settings, n, created_hours_ago=n * 30) for n in range(3)]
    receipts = []
    for n in range(3):
        body, headers = _signed_delivery(n)
        receipt = intake.receive(
            engine=engine,
            sources=build_sources(settings),
            source_name="standard",
            body=body,
            headers=headers,
            now=datetime.now(UTC),
            max_body_bytes=settings.webhook_max_body_bytes,
            pseudonym_key=load_keys(settings).pseudonym,
        )
        receipts.append(receipt.receipt_id)
    with session_scope(engine) as session:
        dead = session.get(InboxEvent, receipts[0])
        assert dead is not None
        dead.status = InboxStatus.dead
    entries = audit.query(engine)
    assert len(entries) == 3
    engine.dispose()
    return {
        "review_id": reviews[0].id,
        "receipt_id": receipts[0],
        "seq": str(entries[0].seq),
        "external_id": "E-fuzz-1",
    }


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Both databases: a NUL in a path went through SQLite and was a 500 on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('fuzz-db')}/fuzz.db"
    else:
        yield from _postgres_database()


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Target]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    settings = Settings(
        var_dir=tmp,
        database_url=database_url,
        admin_api_key=SecretStr(ADMIN_KEY),
        webhook_secrets_standard=[SecretStr(SECRET)],
        webhook_secrets_merge=[SecretStr("merge-key")],
        webhook_secrets_bamboohr=[SecretStr("bamboo-key")],
    )
    known_ids = _seed(settings)
    yield Target(create_app(settings), known_ids)
    shutdown_lifespans()  # schemathesis keeps the app's lifespan open until told


@dataclass
class FuzzRecord:
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    failures: dict[tuple[str, str, int], str] = field(default_factory=dict)
    no_invalid_input: list[str] = field(default_factory=list)

    @property
    def examples(self) -> int:
        return sum(sum(counter.values()) for counter in self.statuses.values())


def _fuzz(
    operation: Operation,
    mode: GenerationMode,
    record: FuzzRecord,
    path_parameters: dict[str, str] | None = None,
) -> None:
    seen = record.statuses.setdefault(operation.label, Counter())

    @FUZZ_SETTINGS
    @hypothesis.given(case=operation.as_strategy(mode, path_parameters=path_parameters))
    def exercise(case: schemathesis.Case[Operation]) -> None:
        response = case.call(headers=AUTH)
        seen[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=AUTH)
        except FailureGroup as found:
            key = (operation.label, type(found).__name__, response.status_code)
            record.failures.setdefault(key, f"{found}\n{case.as_curl_command(headers=AUTH)}")

    try:
        exercise()
    except hypothesis.errors.Unsatisfiable:
        if mode is not GenerationMode.NEGATIVE:
            raise
        record.no_invalid_input.append(operation.label)  # nothing to get wrong


def test_every_operation_answers_only_as_documented(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", target.app)
    record = FuzzRecord()
    # the app's own schema: every operation parses (an Err would fail here, on .ok())
    operations = [cast(Ok[Operation], result).ok() for result in schema.get_all_operations()]
    with caplog.at_level(logging.ERROR):
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz(operation, mode, record)
            names = {p.name for p in operation.path_parameters}
            if names and names <= set(target.known_ids):
                known = {name: target.known_ids[name] for name in names}
                _fuzz(operation, GenerationMode.POSITIVE, record, path_parameters=known)

    summary = {label: dict(sorted(c.items())) for label, c in sorted(record.statuses.items())}
    print(
        f"\nschemathesis: {len(operations)} operations, {record.examples} examples "
        f"(at most {MAX_EXAMPLES} per operation and run); no invalid input possible for "
        f"{record.no_invalid_input}; statuses: {summary}"
    )
    assert len(operations) == sum(len(ops) for ops in schema.raw_schema["paths"].values())
    assert not record.failures, "\n\n".join(f"{k}: {v}" for k, v in record.failures.items())
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]
    assert all(200 in record.statuses[label] for label in ("GET /audit", "GET /reviews"))
