"""Right to erasure end to end, on SQLite and on PostgreSQL: real runs through the worker
into a real SCIM server, vault entries for everyone, then one person is erased and the
whole database (checkpoints included, read as raw rows and raw file bytes) is searched for
anything of theirs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from agents.checkpointer import open_checkpointer
from agents.runtime.erasure import ErasureBusyError, ErasureReport, erase_employee
from agents.runtime.workers import open_workers
from core import inbox
from core.employee import Employee, EventType
from core.inbox import EmployeeCursor, InboxEvent, InboxStatus
from core.settings import Settings, get_settings
from core.vault import ShreddedError, VaultKeys, load_keys, pseudonym, reveal, store
from tests.factories import make_employee, make_event
from tests.harness import WorkerHarness, sandbox_and_settings

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
ADMIN_KEY = "admin-key-for-erasure-tests"


@dataclass
class Harness(WorkerHarness):
    keys: VaultKeys

    def seal(self, person: Employee, label: str) -> dict[str, str]:
        mapping = {"<PERSON_1>": f"{person.given_name} {person.family_name}"}
        mapping["<EMAIL_1>"] = str(person.email)
        store(
            self.engine,
            master_key=self.keys.master,
            subject=self.subject(person),
            label=label,
            plaintext=mapping,
        )
        return mapping

    def unseal(self, person: Employee, label: str) -> object:
        return reveal(
            self.engine, master_key=self.keys.master, subject=self.subject(person), label=label
        )

    def subject(self, person: Employee) -> str:
        return pseudonym(person.external_id, secret=self.keys.pseudonym)

    def rows_of(self, external_id: str) -> list[InboxEvent]:
        with Session(self.engine) as session:
            query = select(InboxEvent).where(InboxEvent.employee_external_id == external_id)
            return list(session.exec(query.order_by(col(InboxEvent.received_at))))

    def has_checkpoint(self, thread_id: str) -> bool:
        with open_checkpointer(self.settings) as checkpointer:
            return checkpointer.get_tuple({"configurable": {"thread_id": thread_id}}) is not None


@pytest.fixture
def harness(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[Harness]:
    with (
        sandbox_and_settings(
            database_url=database_url,
            var_dir=tmp_path,
            admin_api_key=SecretStr(ADMIN_KEY),
            # every run checkpointed, so erasure has checkpoints of each run to delete (the
            # batch lane keeps none: tests/integration/test_batch_lane.py)
            worker_batch_lane=False,
        ) as (_, settings),
        open_workers(settings, engine, count=1) as (worker,),
    ):
        yield Harness(engine, worker, settings, load_keys(settings))


# --- people with values distinctive enough to grep for ----------------------------------


def _alice() -> Employee:
    return make_employee(
        external_id="HR-ZQ-77123",
        email="zephyrine.quillfeather@example.com",
        given_name="Zephyrine",
        family_name="Quillfeather",
        preferred_name="Zephy",
        job_code="11-1021.00",
        title="Operations Director",
    )


def _bob() -> Employee:
    return make_employee(
        external_id="HR-BX-55431",
        email="barnaby.oxenford@example.com",
        given_name="Barnaby",
        family_name="Oxenford",
    )


def _carol(manager: Employee) -> Employee:
    return make_employee(
        external_id="HR-CW-31337",
        email="cordelia.wrenfield@example.com",
        given_name="Cordelia",
        family_name="Wrenfield",
        manager_external_id=manager.external_id,
    )


def _personal_values(person: Employee) -> list[str]:
    values = [person.external_id, str(person.email), person.given_name, person.family_name]
    return values + ([person.preferred_name] if person.preferred_name else [])


# --- searching everything -----------------------------------------------------------------


def _as_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def _database_text(engine: Engine) -> str:
    """Every value of every column of every table (PostgreSQL: the checkpoint tables too)."""
    chunks: list[str] = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                chunks.extend(f"{table}: {_as_text(value)}" for value in row)
    return "\n".join(chunks)


def _sqlite_file_bytes(settings: Settings) -> bytes:
    """The raw bytes of the SQLite files, free pages and write-ahead log included."""
    files = [settings.checkpoint_path, settings.var_dir / "talentsync.db"]
    chunks = [
        path.read_bytes()
        for base in files
        for path in (base, base.with_name(base.name + "-wal"))
        if path.exists()
    ]
    return b"".join(chunks)


def _leaks(harness: Harness, person: Employee) -> list[str]:
    found = []
    haystack = _database_text(harness.engine).lower()
    raw = b""
    if not harness.settings.is_postgres:
        raw = _sqlite_file_bytes(harness.settings).lower()
    for value in _personal_values(person):
        if value.lower() in haystack:
            found.append(f"table row: {value}")
        if value.lower().encode() in raw:
            found.append(f"sqlite file: {value}")
    return found


# --- tests ------------------------------------------------------------------------------


def test_erasing_one_person_leaves_nothing_of_them_and_everyone_else_intact(
    harness: Harness,
) -> None:
    alice, bob = _alice(), _bob()
    carol = _carol(alice)
    harness.enqueue(make_event(alice, occurred_at=T0))
    bob_receipt = harness.enqueue(make_event(bob, occurred_at=T0))
    carol_receipt = harness.enqueue(make_event(carol, occurred_at=T0 + timedelta(days=1)))
    moved = alice.model_copy(update={"department": "Finance"})
    harness.enqueue(make_event(moved, type=EventType.updated, occurred_at=T0 + timedelta(days=30)))
    harness.drain()
    pending = harness.enqueue(  # still queued at erasure: must never run afterwards
        make_event(alice, type=EventType.terminated, occurred_at=T0 + timedelta(days=90))
    )
    alice_rows = harness.rows_of(alice.external_id)
    alice_runs = [r.id for r in alice_rows if r.status == InboxStatus.applied]
    assert len(alice_runs) >= 2 and all(harness.has_checkpoint(r) for r in alice_runs)
    alice_mapping = harness.seal(alice, f"{alice_runs[0]}:pii")
    bob_mapping = harness.seal(bob, f"{bob_receipt}:pii")
    bob_payload = harness.rows_of(bob.external_id)[0].payload
    assert _leaks(harness, alice) and _leaks(harness, bob)  # the search does find people
    assert harness.unseal(alice, f"{alice_runs[0]}:pii") == alice_mapping

    report = erase_employee(
        engine=harness.engine, settings=harness.settings, external_id=alice.external_id
    )

    assert report.subject == harness.subject(alice)
    assert report.vault_keys_shredded == 1
    assert report.inbox_rows_redacted == len(alice_rows)
    assert report.inbox_rows_closed == 1
    assert report.checkpoint_threads_deleted == len(alice_runs) + 1  # + Carol's, naming Alice
    assert report.cursors_deleted == 1
    assert report.references_cleared == 2  # Carol's inbox payload and cursor
    assert any("LMS" in note for note in report.out_of_scope)

    with pytest.raises(ShreddedError):
        harness.unseal(alice, f"{alice_runs[0]}:pii")
    assert _leaks(harness, alice) == []
    assert not any(harness.has_checkpoint(r) for r in alice_runs)

    stubs = harness.rows_of(report.subject)
    assert len(stubs) == len(alice_rows)
    assert all(s.payload == {**s.payload, "erased": True, "subject": report.subject} for s in stubs)
    statuses = {s.id: s.status for s in stubs}
    assert statuses[pending] == InboxStatus.stale
    assert [statuses[r] for r in alice_runs] == [InboxStatus.applied] * len(alice_runs)

    # Bob is untouched: vault entry, inbox payload, checkpoint, cursor.
    assert harness.unseal(bob, f"{bob_receipt}:pii") == bob_mapping
    assert harness.rows_of(bob.external_id)[0].payload == bob_payload
    assert harness.has_checkpoint(bob_receipt)
    assert len(_leaks(harness, bob)) >= len(_personal_values(bob))
    # Carol keeps her data, minus the pointer to Alice.
    carol_row = harness.rows_of(carol.external_id)[0]
    assert carol_row.id == carol_receipt and carol_row.status == InboxStatus.applied
    assert carol_row.payload["employee"]["email"] == carol.email
    assert carol_row.payload["employee"]["manager_external_id"] is None
    with Session(harness.engine) as session:
        assert session.get(EmployeeCursor, alice.external_id) is None
        carol_cursor = session.get(EmployeeCursor, carol.external_id)
        assert carol_cursor is not None and carol_cursor.manager_external_id is None
        assert session.get(EmployeeCursor, bob.external_id) is not None

    # The queue keeps flowing (nothing erased is ever claimed again).
    later = harness.enqueue(
        make_event(bob, type=EventType.updated, occurred_at=T0 + timedelta(days=100))
    )
    harness.drain()
    later_row = inbox.get(harness.engine, receipt_id=later)
    assert later_row is not None and later_row.status == InboxStatus.applied

    again = erase_employee(
        engine=harness.engine, settings=harness.settings, external_id=alice.external_id
    )
    assert again.model_dump(exclude={"subject", "out_of_scope"}) == dict.fromkeys(
        again.model_dump(exclude={"subject", "out_of_scope"}), 0
    )
    assert _leaks(harness, alice) == []


def test_a_dead_letter_of_the_person_can_no_longer_be_replayed(harness: Harness) -> None:
    alice = _alice()
    receipt = harness.enqueue(make_event(alice, occurred_at=T0))
    claim = inbox.claim_next(harness.engine, worker_id="w", lease_s=30)
    assert claim is not None
    inbox.fail(
        harness.engine,
        claim=claim,
        error=f"LMSRejected: 409 userName {alice.email} exists",
        max_attempts=1,
        base_s=0,
        max_s=0,
    )
    erase_employee(engine=harness.engine, settings=harness.settings, external_id=alice.external_id)
    row = inbox.get(harness.engine, receipt_id=receipt)
    assert row is not None and row.status == InboxStatus.stale
    assert row.last_error == "[erased]"
    with pytest.raises(inbox.NotReplayableError):
        inbox.replay(harness.engine, receipt_id=receipt)
    assert _leaks(harness, alice) == []


def test_erasure_waits_for_a_run_in_flight(harness: Harness) -> None:
    alice = _alice()
    receipt = harness.enqueue(make_event(alice, occurred_at=T0))
    assert inbox.claim_next(harness.engine, worker_id="w", lease_s=30) is not None
    with pytest.raises(ErasureBusyError) as busy:
        erase_employee(
            engine=harness.engine, settings=harness.settings, external_id=alice.external_id
        )
    assert busy.value.receipt_id == receipt and 0 < busy.value.retry_after_s <= 30
    row = inbox.get(harness.engine, receipt_id=receipt)
    assert row is not None and row.employee_external_id == alice.external_id  # untouched


def test_the_admin_endpoint_needs_the_key_and_returns_the_report(harness: Harness) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    alice = _alice()
    harness.enqueue(make_event(alice, occurred_at=T0))
    harness.drain()
    with TestClient(create_app(harness.settings)) as client:
        path = f"/admin/employees/{alice.external_id}"
        assert client.delete(path).status_code == 401
        wrong = client.delete(path, headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        response = client.delete(path, headers={"authorization": f"Bearer {ADMIN_KEY}"})
    assert response.status_code == 200, response.text
    report = ErasureReport.model_validate(response.json())
    assert report.subject == harness.subject(alice)
    assert report.inbox_rows_redacted == 1 and report.checkpoint_threads_deleted == 1
    assert _leaks(harness, alice) == []


def test_the_cli_asks_first_unless_told_yes(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.cli import app

    monkeypatch.setenv("TALENTSYNC_DATABASE_URL", harness.settings.database_url)
    monkeypatch.setenv("TALENTSYNC_VAR_DIR", str(harness.settings.var_dir))
    get_settings.cache_clear()
    try:
        alice = _alice()
        harness.enqueue(make_event(alice, occurred_at=T0))
        runner = CliRunner()
        refused = runner.invoke(app, ["erase", alice.external_id], input="n\n")
        assert refused.exit_code == 1
        assert len(harness.rows_of(alice.external_id)) == 1

        done = runner.invoke(app, ["erase", alice.external_id, "--yes"])
        assert done.exit_code == 0, done.output
        assert harness.subject(alice) in done.output
        assert "inbox rows redacted" in done.output
        assert harness.rows_of(alice.external_id) == []
    finally:
        get_settings.cache_clear()
