"""Events through the inbox, the LangGraph run and SCIM into a real SCIM server, on SQLite
and on PostgreSQL (database and checkpointer both)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from faker import Faker
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from agents.runtime.workers import open_workers
from core import audit, inbox
from core.catalog import Catalog, load_catalog
from core.employee import Employee, EmploymentStatus, EventType
from core.inbox import InboxStatus
from pii.analyzer import LowercaseLemmaEngine
from tests.factories import (
    make_employee,
    make_event,
    write_skill_taxonomy,
)
from tests.harness import WorkerHarness, groups_in_lms, sandbox_and_settings
from tools.lms.sandbox import SandboxServer
from tools.lms.scim import ScimLMS
from tools.mapping.rules import RulesMapper
from tools.mapping.skill_mapping import build_skill_mapping

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


@dataclass
class Harness(WorkerHarness):
    lms: ScimLMS
    sandbox: SandboxServer
    catalog: Catalog

    def groups_of(self, external_id: str) -> set[str]:
        groups = groups_in_lms(self.lms, external_id)
        assert groups is not None
        return groups

    def sandbox_log(self) -> dict[str, Any]:
        log: dict[str, Any] = httpx.get(f"{self.sandbox.root_url}/_sandbox/requests").json()
        return log

    def fault(self, **spec: Any) -> None:
        httpx.post(f"{self.sandbox.root_url}/_sandbox/faults", json=spec).raise_for_status()

    def expected_groups(self, employee: Employee, *, manages_others: bool = False) -> set[str]:
        mapper = RulesMapper(self.catalog)
        return set(mapper.map(employee, manages_others=manages_others).group_ids)


@pytest.fixture
def harness(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[Harness]:
    catalog = load_catalog()
    rig = sandbox_and_settings(database_url=database_url, var_dir=tmp_path, catalog=catalog)
    with rig as (sandbox, settings), open_workers(settings, engine, count=1) as (worker,):
        lms = ScimLMS.from_settings(settings)
        yield Harness(engine, worker, settings, lms=lms, sandbox=sandbox, catalog=catalog)


def _writes(log: dict[str, Any], key: str) -> int:
    """Changes the SCIM server accepted, e.g. ``_writes(log, "POST /Users")`` (an operation
    inside a ``/Bulk`` counts under its own method and path)."""
    return int(log["changes"].get(key, 0))


def test_hire_creates_the_account_and_the_catalog_memberships(harness: Harness) -> None:
    person = make_employee()
    receipt = harness.enqueue(make_event(person, occurred_at=T0))
    harness.drain()

    user = harness.lms.find_user(person.external_id)
    assert user is not None and user.active
    assert harness.groups_of(person.external_id) == harness.expected_groups(person)
    row = inbox.get(harness.engine, receipt_id=receipt)
    assert row is not None and row.status == InboxStatus.applied
    assert row.outcome is not None and row.outcome["mapper"] == "rules"


def test_profile_skills_are_placed_from_the_scrubbed_view_and_recorded(
    harness: Harness, tmp_path: Path
) -> None:
    taxonomy = write_skill_taxonomy(tmp_path / "taxonomy")
    harness.worker.services = harness.worker.services.using(
        skills=build_skill_mapping(
            harness.settings.model_copy(update={"skills_taxonomy_path": taxonomy})
        )
    )
    person = make_employee(
        given_name="Ilse", skills=["ms excel", "Python 3", f"pairs with {'Ilse'} every week"]
    )
    receipt = harness.enqueue(make_event(person, occurred_at=T0))
    harness.drain()

    row = inbox.get(harness.engine, receipt_id=receipt)
    assert row is not None and row.status == InboxStatus.applied and row.outcome is not None
    skills = row.outcome["skills"]
    assert [s["method"] for s in skills[:2]] == ["exact", "embedded"]
    assert skills[0]["label"] == "use spreadsheets software"
    assert skills[1]["label"] == "Python (computer programming)"
    assert skills[2]["text"] == "pairs with <PERSON_1> every week"  # the model view, scrubbed
    entries = audit.query(harness.engine, where=audit.AuditFilter(receipt_id=receipt), limit=10)
    decided = [e for e in entries if e.action == audit.AuditAction.decision_made]
    assert decided and "Ilse" not in str(decided[0].provenance)
    assert decided[0].provenance["skills"][0]["concept_id"].endswith("/sheets")


def test_job_change_moves_role_groups_and_keeps_the_rest(harness: Harness) -> None:
    person = make_employee()
    harness.enqueue(make_event(person, occurred_at=T0))
    moved = person.model_copy(
        update={"job_code": "13-2011.00", "title": "Staff Accountant", "department": "Finance"}
    )
    harness.enqueue(make_event(moved, type=EventType.updated, occurred_at=T0 + timedelta(days=30)))
    harness.drain()
    groups = harness.groups_of(person.external_id)
    assert groups == harness.expected_groups(moved)
    assert not groups & (harness.expected_groups(person) - harness.expected_groups(moved))


def test_termination_before_creation_ends_with_no_active_account(harness: Harness) -> None:
    person = make_employee()
    leaver = person.model_copy(update={"employment_status": EmploymentStatus.inactive})
    terminated = make_event(leaver, type=EventType.terminated, occurred_at=T0 + timedelta(days=9))
    created = make_event(person, occurred_at=T0)
    late = harness.enqueue(terminated)
    harness.drain()
    early = harness.enqueue(created)  # arrives after, occurred before
    harness.drain()

    user = harness.lms.find_user(person.external_id)
    assert user is None or not user.active
    row = inbox.get(harness.engine, receipt_id=early)
    assert row is not None and row.status == InboxStatus.stale
    assert row.outcome is not None and row.outcome["applied_receipt_id"] == late
    assert _writes(harness.sandbox_log(), "POST /Users") == 0


def test_termination_deactivates_and_removes_memberships_then_rehire_restores(
    harness: Harness,
) -> None:
    person = make_employee()
    harness.enqueue(make_event(person, occurred_at=T0))
    harness.enqueue(
        make_event(person, type=EventType.terminated, occurred_at=T0 + timedelta(days=60))
    )
    harness.drain()
    user = harness.lms.find_user(person.external_id)
    assert user is not None and not user.active
    assert harness.groups_of(person.external_id) == set()

    harness.enqueue(
        make_event(person, type=EventType.rehired, occurred_at=T0 + timedelta(days=200))
    )
    harness.drain()
    user = harness.lms.find_user(person.external_id)
    assert user is not None and user.active
    assert harness.groups_of(person.external_id) == harness.expected_groups(person)
    assert _writes(harness.sandbox_log(), "POST /Users") == 1


def test_rate_limited_lms_is_retried_honouring_retry_after_then_applied(
    harness: Harness,
) -> None:
    person = make_employee()
    harness.fault(status=429, count=2, retry_after=1)
    started = time.monotonic()
    receipt = harness.enqueue(make_event(person, occurred_at=T0))
    harness.drain()
    assert time.monotonic() - started >= 1.0  # Retry-After was honoured, not ignored
    row = inbox.get(harness.engine, receipt_id=receipt)
    assert row is not None and row.status == InboxStatus.applied
    log = harness.sandbox_log()
    assert log["faults_served"] == 2
    assert _writes(log, "POST /Users") == 1


def test_lms_down_for_good_dead_letters_with_the_reason_and_replays(harness: Harness) -> None:
    person = make_employee()
    harness.fault(status=503, count=10_000)
    receipt = harness.enqueue(make_event(person, occurred_at=T0))
    harness.drain()
    row = inbox.get(harness.engine, receipt_id=receipt)
    assert row is not None and row.status == InboxStatus.dead
    assert row.attempts == harness.settings.worker_max_attempts
    assert row.last_error is not None and "503" in row.last_error

    httpx.delete(f"{harness.sandbox.root_url}/_sandbox/faults").raise_for_status()
    inbox.replay(harness.engine, receipt_id=receipt)
    harness.drain()
    row = inbox.get(harness.engine, receipt_id=receipt)
    assert row is not None and row.status == InboxStatus.applied
    assert harness.groups_of(person.external_id) == harness.expected_groups(person)


def test_a_manager_joins_the_manager_programme(harness: Harness) -> None:
    boss = make_employee(job_code="11-1021.00", title="Operations Director")
    report = make_employee(manager_external_id=boss.external_id)
    harness.enqueue(make_event(report, occurred_at=T0))
    harness.enqueue(make_event(boss, occurred_at=T0 + timedelta(days=1)))
    harness.drain()
    assert harness.groups_of(boss.external_id) == harness.expected_groups(boss, manages_others=True)


def test_a_manager_hired_before_their_first_report_is_refreshed(harness: Harness) -> None:
    boss = make_employee(job_code="11-1021.00", title="Operations Director")
    report = make_employee(manager_external_id=boss.external_id)
    harness.enqueue(make_event(boss, occurred_at=T0))
    harness.drain()
    assert harness.groups_of(boss.external_id) == harness.expected_groups(boss)

    harness.enqueue(make_event(report, occurred_at=T0 + timedelta(days=1)))
    harness.drain()
    assert harness.groups_of(boss.external_id) == harness.expected_groups(boss, manages_others=True)

    leaver = report.model_copy(update={"employment_status": EmploymentStatus.inactive})
    harness.enqueue(
        make_event(leaver, type=EventType.terminated, occurred_at=T0 + timedelta(days=90))
    )
    harness.drain()
    assert harness.groups_of(boss.external_id) == harness.expected_groups(boss)


def test_one_event_delivered_three_times_over_http_is_written_to_the_lms_once(
    harness: Harness,
) -> None:
    from fastapi.testclient import TestClient
    from standardwebhooks.webhooks import Webhook

    from api.app import create_app

    secret = "whsec_" + "VGhyZWVUaW1lc0RlbGl2ZXJlZFNlY3JldEtleQ=="
    settings = harness.settings.model_copy(update={"webhook_secrets_standard": [SecretStr(secret)]})
    person = make_employee()
    body = httpx.Response(
        200,
        json={
            "type": "employee.created",
            "timestamp": T0.isoformat(),
            "data": person.model_dump(mode="json"),
        },
    ).text
    with TestClient(create_app(settings)) as client:
        statuses = []
        for _ in range(3):
            now = datetime.now(UTC)
            headers = {
                "content-type": "application/json",
                "webhook-id": "msg_three_times",
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": Webhook(secret).sign("msg_three_times", now, body),
            }
            statuses.append(client.post("/webhooks/standard", content=body, headers=headers))
    assert [r.status_code for r in statuses] == [202, 200, 200]
    harness.drain()

    writes = harness.sandbox_log()["changes"]
    assert writes.get("POST /Users", 0) == 1
    assert writes.get("PATCH /Groups/{id}", 0) == len(harness.expected_groups(person))
    assert harness.groups_of(person.external_id) == harness.expected_groups(person)


def test_a_backlog_is_scrubbed_in_one_ner_batch_ahead_of_its_runs(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`worker_prefetch`: the first claim analyses the queued records' free text together;
    every run's own scrub step then finds its analysis cached (no NER of its own)."""
    fake = Faker()
    fake.seed_instance(uuid.uuid4().int)  # texts this process's scrubber has never seen
    people = [make_employee(department=f"Office of {fake.name()}") for _ in range(6)]
    engine = harness.worker.services.pii.scrubber.analyzer.nlp_engine
    batches: list[int] = []
    ner = cast(LowercaseLemmaEngine, engine).ner_docs  # the engine pii.analyzer builds

    def counted(texts: list[str], batch_size: int) -> Any:
        batches.append(len(texts))
        return ner(texts, batch_size)

    monkeypatch.setattr(engine, "ner_docs", counted)
    for minute, person in enumerate(people):
        harness.enqueue(make_event(person, occurred_at=T0 + timedelta(minutes=minute)))
    harness.drain()

    assert len(batches) == 1 and batches[0] >= len(people)  # each department, + the site
    for person in people:
        assert harness.groups_of(person.external_id) == harness.expected_groups(person)


def test_a_worker_claims_no_more_than_it_is_asked_to_run(harness: Harness) -> None:
    """Asked for two events, it claims a batch of two; the rest stay queued for any
    worker, their attempts not counted."""
    people = [make_employee() for _ in range(5)]
    receipts = [
        harness.enqueue(make_event(p, occurred_at=T0 + timedelta(minutes=i)))
        for i, p in enumerate(people)
    ]
    assert harness.worker.run_until_idle(max_events=2) == 2
    rows = [inbox.get(harness.engine, receipt_id=r) for r in receipts]
    assert [row.status for row in rows if row] == [InboxStatus.applied] * 2 + [
        InboxStatus.pending
    ] * 3
    assert all(row.attempts == 0 and row.claimed_by is None for row in rows[2:] if row)
    harness.drain()
    for receipt, person in zip(receipts, people, strict=True):
        row = inbox.get(harness.engine, receipt_id=receipt)
        assert row is not None and row.status == InboxStatus.applied and row.attempts == 1
        assert harness.groups_of(person.external_id) == harness.expected_groups(person)


def test_the_leases_of_a_batch_are_kept_alive_while_it_runs(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    """While a slow LMS makes a batch outlast the lease, its events keep their leases: no
    other worker can take them meanwhile."""
    people = [make_employee() for _ in range(3)]
    rig = sandbox_and_settings(database_url=database_url, var_dir=tmp_path, worker_lease_s=0.6)
    with rig as (sandbox, settings), open_workers(settings, engine, count=1) as (worker,):
        for i, person in enumerate(people):
            inbox.enqueue(engine, event=make_event(person, occurred_at=T0 + timedelta(minutes=i)))
        slow = httpx.put(f"{sandbox.root_url}/_sandbox/latency", json={"seconds": 0.4})
        slow.raise_for_status()
        with ThreadPoolExecutor(max_workers=1) as pool:
            batch = pool.submit(worker.run_once)
            time.sleep(1.5)  # well past the lease
            assert not batch.done()
            assert inbox.claim_many(engine, worker_id="another", lease_s=5, limit=8) == []
            held = inbox.list_by_status(engine, status=InboxStatus.processing)
            assert len(held) == 3 and all(row.claimed_by == worker.worker_id for row in held)
            assert batch.result(timeout=60) == 3
        httpx.put(f"{sandbox.root_url}/_sandbox/latency", json={"seconds": 0}).raise_for_status()
        worker.drain(timeout_s=30)
    counts = inbox.status_counts(engine)
    assert counts["applied"] == 3 and counts["processing"] == 0 and counts["pending"] == 0
