"""The audit trail on SQLite and PostgreSQL: appends form one gapless chain even from
concurrent writers, tampering through raw SQL is found and located, one person's history
comes back whole and in order, exports re-verify, retention purges only what it should and
records itself, and the API and CLI are read-only views for auditors."""

from __future__ import annotations

import io
import itertools
import json
import math
import threading
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint
from pydantic import SecretStr, ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from agents.checkpointer import open_checkpointer
from agents.runtime import retention
from api.app import create_app
from core import api_keys, audit
from core.api_keys import Role
from core.audit import (
    ActorKind,
    AuditAction,
    AuditEntry,
    AuditEntryCreate,
    AuditFilter,
)
from core.db import make_engine, session_scope, utcnow
from core.inbox import EmployeeCursor, InboxEvent, InboxStatus, new_receipt_id
from core.settings import Settings, get_settings
from core.vault import load_keys, pseudonym
from tests.database_roles import OWNER_ROLE, role_url, superuser_url
from tests.factories import make_employee, make_event

ADMIN_KEY = "audit.admin.key"
SECRET = b"p" * 32


def _subject(external_id: str, secret: bytes = SECRET) -> str:
    return pseudonym(external_id, secret=secret)


def _entry(n: int, *, subject: str | None = None, **overrides: Any) -> AuditEntryCreate:
    fields: dict[str, Any] = {
        "event_id": f"evt_{n}",
        "receipt_id": f"rcpt_{n % 50:032x}",
        "subject": subject or _subject(f"E{n % 7}"),
        "actor": "agent:provisioning",
        "actor_kind": ActorKind.agent,
        "action": AuditAction.decision_made if n % 3 else AuditAction.lms_write,
        "rule": f"R{n % 5}",
        "confidence": (n % 100) / 100,
        "before": {"groups": ["all-staff"]},
        "after": {"groups": ["all-staff", f"dept-{n % 4}"], "ratio": 1 / 3},
        "provenance": {"rules_fired": ["R1"], "model": "embedded", "memory_hit": False},
    }
    fields.update(overrides)
    return AuditEntryCreate.model_validate(fields)


def _fill(engine: Engine, count: int, **overrides: Any) -> list[AuditEntry]:
    return audit.append_many(engine, entries=[_entry(n, **overrides) for n in range(count)])


def _as_attacker(engine: Engine, *statements: str) -> None:
    """Raw SQL by someone who can also drop the append-only triggers (a DBA, a stolen
    superuser; not the service's role, which cannot): the chain is what still tells."""
    url = engine.url.render_as_string(hide_password=False)
    attacker = make_engine(superuser_url(url)) if engine.dialect.name == "postgresql" else engine
    with attacker.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ALTER TABLE audit_entry DISABLE TRIGGER USER")
        else:
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS audit_entry_no_update")
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS audit_entry_no_delete")
        for statement in statements:
            connection.exec_driver_sql(statement)
    if attacker is not engine:
        attacker.dispose()


# --- appending and verifying --------------------------------------------------------------


def test_appends_form_a_chain_that_verifies(engine: Engine) -> None:
    first = audit.append(engine, entry=_entry(1))
    rest = _fill(engine, 9)

    rows = audit.query(engine, limit=100)
    assert [r.seq for r in rows] == list(range(1, 11))
    assert rows[0].prev_hash == audit.GENESIS_HASH and rows[0].hash == first.hash
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert all(r.at.tzinfo is not None for r in rows)
    assert [r.hash for r in rows[1:]] == [r.hash for r in rest]
    report = audit.verify(engine)
    assert (report.ok, report.checked, report.head_seq, report.head_hash) == (
        True,
        10,
        10,
        rows[-1].hash,
    )


def test_an_entry_commits_with_the_change_it_describes_or_not_at_all(engine: Engine) -> None:
    audit.append(engine, entry=_entry(1))

    def failing_change() -> None:
        with session_scope(engine) as session:
            audit.append_in(session, entry=_entry(2))
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    with session_scope(engine) as session:
        session.add(
            InboxEvent(
                id="rcpt_atomic",
                source="standard",
                event_id="evt_atomic",
                event_type="created",
                employee_external_id="E1",
                occurred_at=utcnow(),
                payload={},
            )
        )
        audit.append_in(session, entry=_entry(3, receipt_id="rcpt_atomic"))

    rows = audit.query(engine)
    assert [(r.seq, r.event_id) for r in rows] == [(1, "evt_1"), (2, "evt_3")]  # no gap
    assert audit.verify(engine).ok


def test_what_cannot_be_a_permanent_record_is_refused_before_writing(engine: Engine) -> None:
    changed = _entry(1)
    changed.subject = "E10001"  # a raw HRIS id, set after validation
    with pytest.raises(ValidationError, match="pattern"):
        audit.append(engine, entry=changed)
    with pytest.raises(ValueError, match="JSON compliant"):
        audit.append(engine, entry=_entry(2, provenance={"score": math.nan}))
    assert audit.query(engine) == []
    assert audit.append(engine, entry=_entry(3)).seq == 1


def test_the_database_refuses_rewrites_even_to_the_tables_owner(
    engine: Engine, database_url: str
) -> None:
    """The triggers stop the owner's role too (the service's role has no UPDATE or DELETE
    at all: tests/integration/test_database_roles.py)."""
    _fill(engine, 3)
    owner = make_engine(role_url(database_url, OWNER_ROLE))
    for statement in (
        "UPDATE audit_entry SET actor = 'reviewer:mallory' WHERE seq = 2",
        "DELETE FROM audit_entry WHERE seq = 3",
    ):
        with pytest.raises(DBAPIError, match="append-only"), owner.begin() as connection:
            connection.exec_driver_sql(statement)
    owner.dispose()
    assert audit.verify(engine).checked == 3


TAMPERING = {
    "content edited": ("UPDATE audit_entry SET rule = 'R-forged' WHERE seq = 17", 17, "edited"),
    "json edited": (
        """UPDATE audit_entry SET "after" = '{"groups":["admins"],"ratio":0.3333333333333333}'
           WHERE seq = 23""",
        23,
        "edited",
    ),
    "entry deleted": ("DELETE FROM audit_entry WHERE seq = 17", 17, "missing"),
    "seqs swapped": (
        "UPDATE audit_entry SET seq = -1 WHERE seq = 17;"
        "UPDATE audit_entry SET seq = 17 WHERE seq = 18;"
        "UPDATE audit_entry SET seq = 18 WHERE seq = -1",
        17,
        "reordered",
    ),
    "last entry but one deleted": ("DELETE FROM audit_entry WHERE seq = 39", 39, "missing"),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_tampering_through_raw_sql_is_found_and_located(engine: Engine, kind: str) -> None:
    _fill(engine, 40)
    assert audit.verify(engine, batch=7).ok
    statements, broken, word = TAMPERING[kind]

    _as_attacker(engine, *statements.split(";"))

    for batch in (7, 5000):  # the break is found across batch boundaries too
        report = audit.verify(engine, batch=batch)
        assert (report.ok, report.first_broken_seq) == (False, broken), report
        assert word in (report.problem or "")
        assert report.checked == broken - 1


def test_a_forged_entry_with_a_recomputed_hash_breaks_the_next_link(engine: Engine) -> None:
    rows = _fill(engine, 10)
    forged = audit.to_public(rows[4]).model_dump() | {"rule": "R-forged"}
    new_hash = audit.entry_hash(forged)
    _as_attacker(
        engine,
        f"UPDATE audit_entry SET rule = 'R-forged', hash = '{new_hash}' WHERE seq = 5",
    )
    report = audit.verify(engine)
    assert (report.ok, report.first_broken_seq) == (False, 6)
    assert "prev_hash of seq 6" in (report.problem or "")


def test_concurrent_appenders_never_fork_the_chain_or_reuse_a_seq(engine: Engine) -> None:
    threads, per_thread = 4, 25
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def appender(worker: int) -> None:
        try:
            start.wait()
            for n in range(per_thread):
                audit.append(engine, entry=_entry(n, actor=f"agent:worker-{worker}"))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    pool = [threading.Thread(target=appender, args=(w,)) for w in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)

    assert errors == []
    rows = audit.query(engine, limit=1000)
    assert [r.seq for r in rows] == list(range(1, threads * per_thread + 1))
    assert sorted(r.actor for r in rows) == sorted(
        f"agent:worker-{w}" for w in range(threads) for _ in range(per_thread)
    )
    assert audit.verify(engine).ok


# --- queries and exports ------------------------------------------------------------------


@pytest.mark.slow
def test_one_employees_history_among_5000_events_comes_back_whole_in_order(
    engine: Engine,
) -> None:
    target = _subject("E-target")
    entries = []
    for n in range(5000):
        mine = n % 23 == 5
        entries.append(_entry(n, subject=target if mine else _subject(f"E{n % 997}")))
    audit.append_many(engine, entries=entries)
    expected = [n + 1 for n in range(5000) if n % 23 == 5]

    pages, after = [], 0
    while True:
        page = audit.query(engine, where=AuditFilter(subject=target), limit=40, after_seq=after)
        if not page:
            break
        pages.append(page)
        after = page[-1].seq
    history = [row for page in pages for row in page]

    assert [row.seq for row in history] == expected
    assert len(pages) == -(-len(expected) // 40)
    assert all(row.subject == target for row in history)
    streamed = list(audit.iter_query(engine, where=AuditFilter(subject=target), page=40))
    assert [[r.seq for r in page] for page in streamed] == [[r.seq for r in page] for page in pages]
    assert audit.verify_rows(history, linked=False).ok
    assert audit.verify(engine, batch=1000).checked == 5000


def test_every_filter_narrows_the_same_way(engine: Engine) -> None:
    _fill(engine, 60)
    middle = utcnow()
    later = _fill(engine, 10, actor="reviewer:ana", actor_kind=ActorKind.reviewer)
    everything = audit.query(engine, limit=1000)

    def seqs(**where: Any) -> list[int]:
        return [r.seq for r in audit.query(engine, where=AuditFilter(**where), limit=1000)]

    def expected(keep: Any) -> list[int]:
        return [r.seq for r in everything if keep(r)]

    assert seqs(action=AuditAction.lms_write) == expected(lambda r: r.action == "lms_write")
    assert seqs(event_id="evt_7") == expected(lambda r: r.event_id == "evt_7")
    run = everything[3].receipt_id
    assert seqs(receipt_id=run) == expected(lambda r: r.receipt_id == run)
    assert seqs(actor="reviewer:ana") == [r.seq for r in later]
    assert seqs(rule="R2") == expected(lambda r: r.rule == "R2")
    assert seqs(min_confidence=0.2, max_confidence=0.3) == expected(
        lambda r: 0.2 <= r.confidence <= 0.3
    )
    assert seqs(since=middle) == [r.seq for r in later]
    assert seqs(until=middle) == list(range(1, 61))
    assert seqs(since=middle, actor="agent:provisioning") == []
    assert seqs(since=middle - timedelta(days=1), until=middle + timedelta(days=1)) == list(
        range(1, 71)
    )


def test_exports_round_trip_and_reverify(engine: Engine, tmp_path: Path) -> None:
    _fill(engine, 30)
    rows = audit.query(engine, limit=1000)
    public = [audit.to_public(r) for r in rows]
    for name, export, read in (
        ("audit.jsonl", audit.export_jsonl, audit.read_jsonl),
        ("audit.csv", audit.export_csv, audit.read_csv),
    ):
        path = tmp_path / name
        with path.open("w", encoding="utf-8", newline="") as handle:
            assert export(rows, handle) == 30
        with path.open(encoding="utf-8", newline="") as handle:
            again = list(read(handle))
        assert again == public, name
        assert audit.verify_rows(again).ok
        assert [r.hash for r in again] == [r.hash for r in rows]

    segment = io.StringIO()
    audit.export_jsonl(audit.query(engine, after_seq=10, limit=10), segment)
    report = audit.verify_rows(audit.read_jsonl(io.StringIO(segment.getvalue())))
    assert (report.ok, report.checked, report.head_seq) == (True, 10, 20)


# --- retention ----------------------------------------------------------------------------


def _inbox_row(
    engine: Engine, *, status: InboxStatus, finished_days_ago: float | None, external_id: str
) -> str:
    event = make_event(make_employee(external_id=external_id))
    receipt = new_receipt_id()
    now = utcnow()
    with session_scope(engine) as session:
        session.add(
            InboxEvent(
                id=receipt,
                source=event.source,
                event_id=event.event_id,
                event_type=event.type.value,
                employee_external_id=external_id,
                occurred_at=event.occurred_at,
                payload=event.model_dump(mode="json"),
                status=status,
                finished_at=None
                if finished_days_ago is None
                else now - timedelta(days=finished_days_ago),
            )
        )
    return receipt


def _payloads(engine: Engine) -> dict[str, dict[str, Any]]:
    with Session(engine) as session:
        return {row.id: row.payload for row in session.exec(select(InboxEvent))}


def _retention_entries(engine: Engine) -> list[AuditEntry]:
    return audit.query(engine, where=AuditFilter(action=AuditAction.retention_purge))


def _settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=tmp_path,
        admin_api_key=SecretStr(ADMIN_KEY),
        **overrides,
    )


def test_retention_purges_only_old_finished_runs_and_records_itself(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    old = {
        status: _inbox_row(engine, status=status, finished_days_ago=40, external_id=f"E{i}")
        for i, status in enumerate(retention.FINISHED_STATUSES)
    }
    keep = [
        _inbox_row(engine, status=InboxStatus.applied, finished_days_ago=5, external_id="E10"),
        _inbox_row(engine, status=InboxStatus.pending, finished_days_ago=None, external_id="E11"),
        _inbox_row(
            engine, status=InboxStatus.awaiting_review, finished_days_ago=40, external_id="E12"
        ),
    ]
    current = _inbox_row(
        engine, status=InboxStatus.applied, finished_days_ago=40, external_id="E13"
    )
    with session_scope(engine) as session:  # E13's newest applied record: still needed
        session.add(
            EmployeeCursor(external_id="E13", last_occurred_at=utcnow(), last_receipt_id=current)
        )
    before = _payloads(engine)
    settings = _settings(database_url, tmp_path)
    with open_checkpointer(settings) as checkpointer:
        for receipt in [*old.values(), *keep, current]:
            config: RunnableConfig = {"configurable": {"thread_id": receipt, "checkpoint_ns": ""}}
            checkpointer.put(config, empty_checkpoint(), {}, {})

        report = retention.apply_retention(engine, checkpointer, older_than_days=30)

        remaining = {
            receipt
            for receipt in [*old.values(), *keep, current]
            if checkpointer.get_tuple({"configurable": {"thread_id": receipt}}) is not None
        }
        again = retention.apply_retention(engine, checkpointer, older_than_days=30)

    after = _payloads(engine)
    assert {r for r in after if after[r] == retention.REDACTED_PAYLOAD} == set(old.values())
    assert all(after[r] == before[r] for r in [*keep, current])
    assert remaining == set(keep)  # the current record's checkpoint goes, its payload stays
    assert (report.inbox_payloads_redacted, report.checkpoint_threads_deleted) == (4, 5)
    assert (again.inbox_payloads_redacted, again.checkpoint_threads_deleted) == (0, 0)

    entries = _retention_entries(engine)
    assert [e.after for e in entries] == [
        {"checkpoint_threads_deleted": 5},
        {"inbox_payloads_redacted": 4},
        {"checkpoint_threads_deleted": 0},
        {"inbox_payloads_redacted": 0},
    ]
    assert all(e.actor == "system" and e.rule == "retention:30d" for e in entries)
    assert entries[1].provenance["older_than_days"] == 30
    assert audit.verify(engine).ok


def test_payload_retention_counts_with_an_explicit_now(engine: Engine) -> None:
    receipt = _inbox_row(engine, status=InboxStatus.stale, finished_days_ago=2, external_id="E1")
    assert retention.purge_inbox_payloads(engine, older_than_days=3) == 0
    assert (
        retention.purge_inbox_payloads(engine, older_than_days=3, now=utcnow() + timedelta(days=2))
        == 1
    )
    assert _payloads(engine)[receipt] == retention.REDACTED_PAYLOAD
    with pytest.raises(ValueError, match="at least 1"):
        retention.purge_inbox_payloads(engine, older_than_days=0)


# --- API ----------------------------------------------------------------------------------


@pytest.fixture
def api(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    settings = _settings(database_url, tmp_path)
    with TestClient(create_app(settings)) as client:
        yield client, settings


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_only_auditors_and_admins_may_read(
    api: tuple[TestClient, Settings], engine: Engine
) -> None:
    client, _ = api
    _fill(engine, 3)
    _, reviewer = api_keys.create_key(engine, name="rita", role=Role.reviewer)
    _, auditor = api_keys.create_key(engine, name="aude", role=Role.auditor)

    for path in ("/audit", "/audit/verify", "/audit/1", "/audit?format=csv"):
        assert client.get(path).status_code == 401, path
        refused = client.get(path, headers=_bearer(reviewer))
        assert refused.status_code == 403, path
        assert refused.headers["content-type"] == "application/problem+json"
        assert client.get(path, headers=_bearer(auditor)).status_code == 200, path
        assert client.get(path, headers=_bearer(ADMIN_KEY)).status_code == 200, path


def test_the_audit_api_has_no_write_routes(api: tuple[TestClient, Settings]) -> None:
    client, _ = api
    routes = {
        (context.path, method)
        for context in iter_route_contexts(client.app.routes)  # type: ignore[attr-defined]
        if (context.path or "").startswith("/audit")
        for method in context.methods or ()
    }
    assert {path for path, _ in routes} >= {"/audit", "/audit/verify", "/audit/{seq:int}"}
    assert {method for _, method in routes} <= {"GET", "HEAD"}, routes
    for method in ("post", "put", "patch", "delete"):
        response = client.request(method, "/audit/1", headers=_bearer(ADMIN_KEY))
        assert response.status_code == 405, method


def test_the_api_filters_pages_and_exports(
    api: tuple[TestClient, Settings], engine: Engine
) -> None:
    client, settings = api
    person = _subject("E42", load_keys(settings).pseudonym)
    audit.append_many(
        engine,
        entries=[_entry(n, subject=person if n % 4 == 0 else None) for n in range(40)],
    )
    mine = [n + 1 for n in range(40) if n % 4 == 0]
    admin = _bearer(ADMIN_KEY)

    seen, after = [], 0
    while True:
        body = client.get(
            "/audit", params={"employee": "E42", "limit": 3, "after": after}, headers=admin
        ).json()
        seen += [item["seq"] for item in body["items"]]
        if body["next_after"] is None:
            break
        after = body["next_after"]
    assert seen == mine

    by_subject = client.get("/audit", params={"subject": person, "limit": 1000}, headers=admin)
    assert [i["seq"] for i in by_subject.json()["items"]] == mine
    lms = client.get(
        "/audit", params={"action": "lms_write", "run": _entry(3).receipt_id}, headers=admin
    )
    assert [i["seq"] for i in lms.json()["items"]] == [4]

    jsonl = client.get("/audit", params={"format": "jsonl"}, headers=admin)
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    rows = list(audit.read_jsonl(io.StringIO(jsonl.text)))
    assert [r.seq for r in rows] == list(range(1, 41)) and audit.verify_rows(rows).ok
    csv_export = client.get(
        "/audit", params={"format": "csv", "employee": "E42", "limit": 5}, headers=admin
    )
    assert csv_export.headers["content-type"].startswith("text/csv")
    rows = list(audit.read_csv(io.StringIO(csv_export.text, newline="")))
    assert [r.seq for r in rows] == mine[:5] and audit.verify_rows(rows, linked=False).ok

    entry = client.get(f"/audit/{mine[1]}", headers=admin)
    assert entry.status_code == 200 and entry.json()["subject"] == person
    missing = client.get("/audit/999", headers=admin)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    refused_params: tuple[Mapping[str, str | int | float], ...] = (
        {"min_confidence": 0.9, "max_confidence": 0.1},
        {"employee": "E42", "subject": person},
        {"limit": 5000},
        {"action": "deleted_everything"},
        {"after": 2**63},  # past a database integer: a 500 on SQLite
        {"format": "csv", "limit": 10**9 + 1},
        {"since": "0001-01-01T00:00:00+14:00"},  # before year 1 in UTC: a 500
        {"rule": "a\x00b"},  # a NUL: a 500 on PostgreSQL
    )
    for params in refused_params:
        refused = client.get("/audit", params=params, headers=admin)
        assert refused.status_code == 422, params
        assert refused.headers["content-type"] == "application/problem+json"
    assert client.get(f"/audit/{2**63}", headers=admin).status_code == 422


def test_the_api_reports_a_broken_chain(api: tuple[TestClient, Settings], engine: Engine) -> None:
    client, _ = api
    _fill(engine, 5)
    assert client.get("/audit/verify", headers=_bearer(ADMIN_KEY)).json()["ok"] is True
    _as_attacker(engine, "DELETE FROM audit_entry WHERE seq = 2")
    report = client.get("/audit/verify", headers=_bearer(ADMIN_KEY)).json()
    assert (report["ok"], report["first_broken_seq"]) == (False, 2)


# --- CLI ----------------------------------------------------------------------------------


@pytest.fixture
def cli(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[CliRunner, Settings]]:
    monkeypatch.setenv("TALENTSYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("TALENTSYNC_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("TALENTSYNC_AUDIT_RETENTION_DAYS", raising=False)
    get_settings.cache_clear()
    yield CliRunner(), get_settings()
    get_settings.cache_clear()


def test_cli_verify_exits_1_naming_the_first_broken_seq(
    cli: tuple[CliRunner, Settings], engine: Engine
) -> None:
    from api.cli import app

    runner, _ = cli
    _fill(engine, 12)
    intact = runner.invoke(app, ["audit", "verify"])
    assert intact.exit_code == 0, intact.output
    assert "intact" in intact.output and "12 entries" in intact.output

    _as_attacker(engine, "UPDATE audit_entry SET actor = 'reviewer:mallory' WHERE seq = 8")
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "broken at seq 8" in broken.output


def test_cli_query_shows_and_exports_one_employees_history(
    cli: tuple[CliRunner, Settings], engine: Engine
) -> None:
    from api.cli import app

    runner, settings = cli
    person = _subject("E7", load_keys(settings).pseudonym)
    audit.append_many(
        engine, entries=[_entry(n, subject=person if n % 3 == 0 else None) for n in range(30)]
    )
    mine = [n + 1 for n in range(30) if n % 3 == 0]

    table = runner.invoke(app, ["audit", "query", "--employee", "E7", "--limit", "4"])
    assert table.exit_code == 0, table.output
    assert "Audit trail (4 entries)" in table.output
    assert "E7" not in table.output  # only the pseudonym is shown

    jsonl = runner.invoke(app, ["audit", "query", "--employee", "E7", "--format", "jsonl"])
    assert jsonl.exit_code == 0, jsonl.output
    lines = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [line["seq"] for line in lines] == mine

    exported = runner.invoke(
        app, ["audit", "query", "--action", "lms_write", "--since", "2000-01-01", "--format", "csv"]
    )
    assert exported.exit_code == 0, exported.output
    rows = list(audit.read_csv(io.StringIO(exported.stdout, newline="")))
    assert [r.seq for r in rows] == [n + 1 for n in range(30) if n % 3 == 0]
    assert audit.verify_rows(rows, linked=False).ok
    assert runner.invoke(app, ["audit", "query", "--since", "yesterday"]).exit_code == 2


def test_cli_retention_purges_and_reports(cli: tuple[CliRunner, Settings], engine: Engine) -> None:
    from api.cli import app

    runner, _ = cli
    receipt = _inbox_row(engine, status=InboxStatus.applied, finished_days_ago=9, external_id="E1")

    unset = runner.invoke(app, ["audit", "retention"])
    assert unset.exit_code == 0 and "keeping everything" in unset.output
    assert _retention_entries(engine) == []

    result = runner.invoke(app, ["audit", "retention", "--days", "7"])
    assert result.exit_code == 0, result.output
    assert "inbox payloads redacted" in result.output
    assert _payloads(engine)[receipt] == retention.REDACTED_PAYLOAD
    assert [e.after for e in _retention_entries(engine)] == [
        {"checkpoint_threads_deleted": 0},
        {"inbox_payloads_redacted": 1},
    ]
    with Session(engine) as session:
        assert session.exec(select(col(AuditEntry.seq))).all() == [1, 2]
