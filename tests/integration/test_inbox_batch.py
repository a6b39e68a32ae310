"""The inbox's batched calls (for a worker's batch lane) against the single ones, on SQLite
and on the real PostgreSQL: the same data, one side called once per item in order, the
other once for all; the results and what the databases hold afterwards must be the same."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Table, select, text, update
from sqlalchemy.engine import Engine

from core import inbox
from core.audit import ActorKind, AuditAction, AuditEntryCreate
from core.audit.entry import AuditEntry
from core.db import as_utc, make_engine
from core.employee import Employee, EmploymentStatus, HRISEvent
from core.inbox import Arrival, Claim, Completion, EmployeeCursor, InboxEvent, InboxStatus
from tests.factories import make_employee, make_event
from tests.sql_statements import selects

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
_INBOX: Table = InboxEvent.__table__  # type: ignore[attr-defined]
_CURSORS: Table = EmployeeCursor.__table__  # type: ignore[attr-defined]
_AUDIT: Table = AuditEntry.__table__  # type: ignore[attr-defined]


def _rid(name: str) -> str:
    return f"rcpt_{name}"


def _store(engine: Engine, *events: tuple[str, HRISEvent]) -> None:
    inbox.enqueue_many(engine, [Arrival(e, _rid(name)) for name, e in events])


def _claims(engine: Engine, worker: str = "w1") -> dict[str, Claim]:
    """Everything ready, by receipt id."""
    return {
        c.receipt_id: c for c in inbox.claim_many(engine, worker_id=worker, lease_s=60, limit=50)
    }


def _apply(engine: Engine, claims: dict[str, Claim], name: str, employee: Employee) -> None:
    inbox.complete(
        engine, claim=claims[_rid(name)], status=InboxStatus.applied, outcome={}, employee=employee
    )


def _drain(engine: Engine) -> None:
    """Apply everything ready, and the manager refreshes that queues."""
    while claims := _claims(engine, "setup"):
        for claim in claims.values():
            inbox.complete(
                engine,
                claim=claim,
                status=InboxStatus.applied,
                outcome={},
                employee=claim.event.employee,
            )


def _entry(claim: Claim, note: str) -> AuditEntryCreate:
    return AuditEntryCreate(
        event_id=claim.event.event_id,
        receipt_id=claim.receipt_id,
        actor="agent:provisioning",
        actor_kind=ActorKind.agent,
        action=AuditAction.decision_made,
        provenance={"note": note},
    )


def _processed() -> dict[str, float]:
    return {
        outcome: REGISTRY.get_sample_value(
            "talentsync_events_processed_total", {"outcome": outcome}
        )
        or 0.0
        for outcome in ("applied", "stale", "rejected")
    }


def _state(engine: Engine) -> dict[str, Any]:
    """What an engine's inbox, cursors and audit trail hold, without the times a call
    stamps and the random receipt ids of manager refreshes (named by event id)."""
    with engine.connect() as connection:
        rows = connection.execute(select(_INBOX).order_by(_INBOX.c.event_id)).all()
        cursors = connection.execute(select(_CURSORS).order_by(_CURSORS.c.external_id)).all()
        audit = connection.execute(select(_AUDIT).order_by(_AUDIT.c.seq)).all()
    refresh = {r.id: r.event_id for r in rows if r.event_id.startswith("refresh:")}
    return {
        "inbox": [
            (
                r.event_id,
                r.employee_external_id,
                as_utc(r.occurred_at),
                r.status,
                r.outcome,
                r.claimed_by,
                r.attempts,
                r.last_error,
                r.lease_until is None,
                r.finished_at is None,
                r.payload,
            )
            for r in rows
        ],
        "cursors": [
            (
                c.external_id,
                as_utc(c.last_occurred_at),
                refresh.get(c.last_receipt_id, c.last_receipt_id),
                c.manager_external_id,
                c.active,
            )
            for c in cursors
        ],
        "audit": [(a.seq, a.receipt_id, a.action, a.provenance) for a in audit],
    }


@dataclass(frozen=True)
class People:
    boss: Employee  # gets a first report in the batch, and has an event of their own there
    old_boss: Employee  # loses their only report in the batch
    new_boss: Employee  # gains that report
    mover: Employee  # the report moving from old_boss to new_boss
    ahead: Employee  # their cursor is past their event in the batch


def _setup(engine: Engine, people: People, batch: dict[str, HRISEvent]) -> dict[str, Claim]:
    """Applied history, then the batch claimed: one event per person, ready to finish.

    Two of the claims are special: "done" is finished already (by an earlier try of the
    same run), "lost" was taken over by another worker."""
    p = people
    history = {
        "boss0": make_event(p.boss, occurred_at=T0, event_id="boss0"),
        "old_boss0": make_event(p.old_boss, occurred_at=T0, event_id="old_boss0"),
        "new_boss0": make_event(p.new_boss, occurred_at=T0, event_id="new_boss0"),
        "mover0": make_event(p.mover, occurred_at=T0, event_id="mover0"),
        "ahead0": make_event(p.ahead, occurred_at=T0 + timedelta(days=2), event_id="ahead0"),
    }
    _store(engine, *history.items())
    _drain(engine)
    _store(engine, *batch.items())
    claims = _claims(engine)
    assert len(claims) == len(batch)
    inbox.complete(
        engine, claim=claims[_rid("done")], status=InboxStatus.applied, outcome={"first": True}
    )
    with engine.begin() as connection:
        connection.execute(
            update(_INBOX).where(_INBOX.c.id == _rid("lost")).values(claimed_by="w-other")
        )
    return claims


def _completions(people: People, claims: dict[str, Claim]) -> list[Completion]:
    """The first report's completion before their boss's: the boss's then finds a report."""

    def completion(name: str, status: InboxStatus, **more: Any) -> Completion:
        claim = claims[_rid(name)]
        return Completion(
            claim=claim,
            status=status,
            outcome={"name": name},
            audit_entries=[_entry(claim, f"{name} 1"), _entry(claim, f"{name} 2")],
            **more,
        )

    return [
        completion("report", InboxStatus.applied, employee=claims[_rid("report")].event.employee),
        completion("boss", InboxStatus.applied, employee=people.boss, mapped_as_manager=False),
        completion("lost", InboxStatus.applied),
        completion("mover", InboxStatus.applied, employee=claims[_rid("mover")].event.employee),
        completion("stale", InboxStatus.stale),
        completion("done", InboxStatus.applied),
        completion("ahead", InboxStatus.applied, employee=people.ahead, mapped_as_manager=True),
        completion("rejected", InboxStatus.rejected),
    ]


def test_complete_many_does_what_complete_does_for_each_in_order(
    twin_engines: tuple[Engine, Engine],
) -> None:
    boss, old_boss, new_boss = make_employee(), make_employee(), make_employee()
    people = People(
        boss=boss,
        old_boss=old_boss,
        new_boss=new_boss,
        mover=make_employee(manager_external_id=old_boss.external_id),
        ahead=make_employee(),
    )
    at = T0 + timedelta(hours=1)
    moved = people.mover.model_copy(update={"manager_external_id": new_boss.external_id})
    batch = {
        "report": make_event(make_employee(manager_external_id=boss.external_id), occurred_at=at),
        "boss": make_event(boss, occurred_at=at),
        "lost": make_event(occurred_at=at),
        "mover": make_event(moved, occurred_at=at),
        "stale": make_event(occurred_at=at),
        "done": make_event(occurred_at=at),
        "ahead": make_event(people.ahead, occurred_at=T0 + timedelta(days=1)),
        "rejected": make_event(occurred_at=at),
    }
    single_engine, batch_engine = twin_engines
    results: list[tuple[list[str], dict[str, float], dict[str, Any]]] = []
    for engine, finish in ((single_engine, _one_by_one), (batch_engine, inbox.complete_many)):
        completions = _completions(people, _setup(engine, people, batch))
        before = _processed()
        lost = finish(engine, completions=completions)
        after = _processed()
        counted = {outcome: after[outcome] - before[outcome] for outcome in after}
        results.append(([c.receipt_id for c in lost], counted, _state(engine)))

    assert results[1] == results[0]
    lost_ids, counted, state = results[1]
    assert lost_ids == [_rid("lost")]
    assert counted == {"applied": 4, "stale": 1, "rejected": 1}
    refreshes = sorted(row[0] for row in state["inbox"] if row[0].startswith("refresh:"))
    assert refreshes == sorted(
        [
            f"refresh:{boss.external_id}:{_rid('report')}",  # their first report
            f"refresh:{boss.external_id}:{_rid('boss')}",  # mapped without the report
            f"refresh:{old_boss.external_id}:{_rid('mover')}",
            f"refresh:{new_boss.external_id}:{_rid('mover')}",
            f"refresh:{people.ahead.external_id}:{_rid('ahead')}",  # mapped as a manager
        ]
    )
    audited = [(receipt, p["note"]) for _, receipt, _, p in state["audit"]]
    finished = ("report", "boss", "mover", "stale", "ahead", "rejected")
    assert audited == [(_rid(n), f"{n} {i}") for n in finished for i in (1, 2)]


def _one_by_one(engine: Engine, *, completions: list[Completion]) -> list[Claim]:
    lost: list[Claim] = []
    for c in completions:
        try:
            inbox.complete(
                engine,
                claim=c.claim,
                status=c.status,
                outcome=c.outcome,
                employee=c.employee,
                mapped_as_manager=c.mapped_as_manager,
                audit_entries=c.audit_entries,
            )
        except inbox.LeaseLostError:
            lost.append(c.claim)
    return lost


def test_complete_many_takes_no_two_events_of_one_person(engine: Engine) -> None:
    person = make_employee()
    claims = [
        Claim(receipt_id=_rid(f"x{i}"), worker_id="w1", attempts=1, event=make_event(person))
        for i in range(2)
    ]
    with pytest.raises(ValueError, match="two events of one person"):
        inbox.complete_many(
            engine, completions=[Completion(c, InboxStatus.applied, {}) for c in claims]
        )
    assert inbox.complete_many(engine, completions=[]) == []


def test_complete_still_refuses_a_claim_it_no_longer_holds(engine: Engine) -> None:
    _store(engine, ("one", make_event()))
    claim = _claims(engine)[_rid("one")]
    inbox.fail(engine, claim=claim, error="x", max_attempts=3, base_s=0, max_s=0)
    with pytest.raises(inbox.LeaseLostError):
        inbox.complete(engine, claim=claim, status=InboxStatus.applied, outcome={})
    row = inbox.get(engine, receipt_id=claim.receipt_id)
    assert row is not None and row.status == InboxStatus.pending


# --- overtaken_many --------------------------------------------------------------------------


def _overtaken_one(engine: Engine, claim: Claim) -> dict[str, Any] | None:
    """What the worker built from the two single checks before `overtaken_many`."""
    applied = inbox.is_stale(engine, claim=claim)
    if applied is not None:
        return {
            "reason": "an event that occurred later was already applied",
            "applied_receipt_id": applied.last_receipt_id,
            "applied_occurred_at": applied.last_occurred_at.isoformat(),
        }
    waiting = inbox.newer_waiting_for_review(engine, claim=claim)
    if waiting is not None:
        return {
            "reason": "an event that occurred later is waiting for review",
            "waiting_receipt_id": waiting.id,
            "waiting_occurred_at": as_utc(waiting.occurred_at).isoformat(),
        }
    return None


def _park(engine: Engine, *names: str) -> None:
    claims = _claims(engine, "parker")
    for name in names:
        inbox.park(engine, claim=claims[_rid(name)], outcome={"review_id": name})


def test_overtaken_many_gives_the_single_checks_reasons_in_two_queries(engine: Engine) -> None:
    applied, waiting, both, neither, itself, earlier, two = (make_employee() for _ in range(7))
    day = timedelta(days=1)

    def at(person: Employee, moment: datetime) -> HRISEvent:
        return make_event(person, occurred_at=moment)

    # what is applied or parked before the events asked about arrive
    _store(engine, ("applied1", at(applied, T0 + day)), ("both1", at(both, T0 + day)))
    held = _claims(engine, "setup")
    for name, person in (("applied1", applied), ("both1", both)):
        _apply(engine, held, name, person)
    _store(
        engine,
        ("waiting1", at(waiting, T0 + day)),
        ("both2", at(both, T0 + 2 * day)),
        ("earlier0", at(earlier, T0 - day)),
        ("two1", at(two, T0 + day)),
    )
    _park(engine, "waiting1", "both2", "earlier0", "two1")
    _store(engine, ("two2", at(two, T0 + 2 * day)))
    _park(engine, "two2")
    _store(engine, ("itself", at(itself, T0)))
    own = _claims(engine, "setup")[_rid("itself")]
    _apply(engine, {own.receipt_id: own}, "itself", itself)

    asked = {
        "applied": at(applied, T0),
        "waiting": at(waiting, T0),
        "both": at(both, T0),
        "neither": at(neither, T0),
        "earlier": at(earlier, T0),
        "two": at(two, T0),
    }
    _store(engine, *asked.items())
    claims = [
        Claim(receipt_id=_rid(name), worker_id="w1", attempts=1, event=e)
        for name, e in asked.items()
    ]
    claims.append(own)  # its own cursor: not overtaken

    with selects(engine) as sent:
        reasons = inbox.overtaken_many(engine, claims=claims)
    assert len(sent) <= 2
    assert reasons == {
        c.receipt_id: reason for c in claims if (reason := _overtaken_one(engine, c)) is not None
    }
    assert sorted(reasons) == sorted(_rid(n) for n in ("applied", "waiting", "both", "two"))
    assert reasons[_rid("both")]["applied_receipt_id"] == _rid("both1")
    assert reasons[_rid("two")]["waiting_receipt_id"] == _rid("two2")

    with selects(engine) as sent:  # overtaken by their cursors only: no second query
        assert len(inbox.overtaken_many(engine, claims=claims[:1])) == 1
    assert len(sent) == 1
    assert inbox.overtaken_many(engine, claims=[]) == {}


# --- manages_others_many, manager_names_many, latest_snapshots ---------------------------


def test_manager_and_snapshot_lookups_for_many_match_the_single_ones_in_one_query(
    engine: Engine,
) -> None:
    boss = make_employee(preferred_name="Sam")
    gone_boss, thin_boss, nobody = make_employee(), make_employee(), make_employee()
    report = make_employee(manager_external_id=boss.external_id)
    left = make_employee(
        manager_external_id=gone_boss.external_id, employment_status=EmploymentStatus.inactive
    )
    thin_report = make_employee(manager_external_id=thin_boss.external_id)
    thin = make_event(thin_boss, occurred_at=T0).model_copy(update={"employee": None})
    history = [
        ("boss", make_event(boss, occurred_at=T0)),
        ("gone_boss", make_event(gone_boss, occurred_at=T0)),
        ("thin_boss", thin),
        ("report", make_event(report, occurred_at=T0)),
        ("left", make_event(left, occurred_at=T0)),
        ("thin_report", make_event(thin_report, occurred_at=T0)),
    ]
    _store(engine, *history)
    claims = _claims(engine)
    for name, e in history:
        inbox.complete(
            engine,
            claim=claims[_rid(name)],
            status=InboxStatus.applied,
            outcome={},
            employee=e.employee,
        )
    everyone = [boss, gone_boss, thin_boss, nobody, report, left, thin_report]
    orphan = make_employee(manager_external_id="E-never-seen")
    records = [report, left, thin_report, orphan, boss, make_employee(manager_external_id="")]

    ids = [e.external_id for e in everyone]
    with selects(engine) as sent:
        managing = inbox.manages_others_many(engine, external_ids=ids)
        names = inbox.manager_names_many(engine, records)
        snapshots = inbox.latest_snapshots(engine, external_ids=ids)
    assert len(sent) == 3
    assert snapshots == {i: inbox.latest_snapshot(engine, external_id=i) for i in ids}
    assert snapshots[boss.external_id] == boss and snapshots[thin_boss.external_id] is None
    assert snapshots[nobody.external_id] is None  # never applied
    assert managing == {
        e.external_id for e in everyone if inbox.manages_others(engine, external_id=e.external_id)
    }
    assert managing == {boss.external_id, thin_boss.external_id}
    assert names == {r.manager_external_id or "": inbox.manager_names(engine, r) for r in records}
    assert names[boss.external_id] == [boss.given_name, boss.family_name, "Sam"]
    assert names[""] == []
    with selects(engine) as sent:
        assert inbox.manages_others_many(engine, external_ids=[]) == set()
        assert inbox.manager_names_many(engine, [boss]) == {"": []}
        assert inbox.latest_snapshots(engine, external_ids=[]) == {}
    assert sent == []


# --- two workers' batches at once ------------------------------------------------------------


@pytest.mark.postgres
def test_two_batches_with_crossing_managers_do_not_deadlock(postgres_url: str) -> None:
    """Worker A finishes a report of manager 2 then one of manager 1; worker B one of
    manager 1 then one of manager 2. Locking per event, in batch order, A would hold 2 and
    wait for 1 while B holds 1 and waits for 2 (PostgreSQL aborts one as a deadlock). Each
    batch locks every line it touches in one global order instead, so one waits for the
    other. An outside lock on manager 1 makes both batches meet there, B first."""
    engine = make_engine(postgres_url)
    lines = [make_employee(manager_external_id=boss) for boss in ("M2", "M1", "M1", "M2")]
    events = [make_event(e, occurred_at=T0 + timedelta(minutes=n)) for n, e in enumerate(lines)]
    inbox.enqueue_many(engine, [Arrival(e, inbox.new_receipt_id()) for e in events])
    batches = {w: inbox.claim_many(engine, worker_id=w, lease_s=60, limit=2) for w in "AB"}
    errors: list[BaseException] = []

    def finish(worker: str) -> None:
        completions = [
            Completion(c, InboxStatus.applied, {}, employee=c.event.employee)
            for c in batches[worker]
        ]
        try:
            assert inbox.complete_many(engine, completions=completions) == []
        except BaseException as error:
            errors.append(error)

    def waiting(count: int) -> None:
        waited = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                if connection.execute(waited).scalar_one() >= count:
                    return
            time.sleep(0.01)
        raise AssertionError(f"{count} lock waits expected")

    key = {"key": "manager:M1"}
    threads = [threading.Thread(target=finish, args=(w,)) for w in "BA"]
    try:
        with engine.connect() as outside:
            outside.execute(text("SELECT pg_advisory_lock(hashtext(:key))"), key)
            for n, thread in enumerate(threads, start=1):
                thread.start()
                waiting(n)  # B first in the queue for manager 1, then A
            outside.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"), key)
        for thread in threads:
            thread.join(timeout=30)
        assert errors == []
        assert inbox.status_counts(engine)["applied"] == len(events)
    finally:
        engine.dispose()
