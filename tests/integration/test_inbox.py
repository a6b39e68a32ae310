"""The durable inbox on SQLite and on the real PostgreSQL: ordering, leases, retries."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import inbox
from core.inbox import InboxEvent, InboxStatus, LeaseLostError, NotReplayableError
from tests.factories import make_employee, make_event

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _claim(engine: Engine, worker: str = "w1", lease_s: float = 30) -> inbox.Claim | None:
    return inbox.claim_next(engine, worker_id=worker, lease_s=lease_s)


def test_duplicate_event_keeps_one_row_and_one_receipt(engine: Engine) -> None:
    event = make_event()
    first, created = inbox.enqueue(engine, event=event)
    second, created_again = inbox.enqueue(engine, event=event)
    assert created and not created_again
    assert second.id == first.id
    assert inbox.status_counts(engine)["pending"] == 1


def test_one_employee_is_processed_in_occurrence_order_one_at_a_time(engine: Engine) -> None:
    person = make_employee()
    later = make_event(person, occurred_at=T0 + timedelta(hours=2))
    earlier = make_event(person, occurred_at=T0)
    other = make_event(occurred_at=T0 + timedelta(hours=1))
    for event in (later, earlier, other):  # delivered out of order
        inbox.enqueue(engine, event=event)

    first = _claim(engine, "w1")
    assert first is not None and first.event.event_id == earlier.event_id
    second = _claim(engine, "w2")
    assert second is not None and second.event.event_id == other.event_id
    assert _claim(engine, "w3") is None  # `later` waits for `earlier` to finish

    inbox.complete(engine, claim=first, status=InboxStatus.applied, outcome={})
    third = _claim(engine, "w3")
    assert third is not None and third.event.event_id == later.event_id


def test_event_older_than_the_applied_one_is_stale(engine: Engine) -> None:
    person = make_employee()
    newer = make_event(person, occurred_at=T0 + timedelta(days=1))
    inbox.enqueue(engine, event=newer)
    claim = _claim(engine)
    assert claim is not None
    inbox.complete(engine, claim=claim, status=InboxStatus.applied, outcome={}, employee=person)

    older = make_event(person, occurred_at=T0)
    inbox.enqueue(engine, event=older)
    late = _claim(engine)
    assert late is not None
    cursor = inbox.is_stale(engine, claim=late)
    assert cursor is not None and cursor.last_receipt_id == claim.receipt_id
    assert inbox.is_stale(engine, claim=claim) is None


def test_failed_attempts_back_off_then_dead_letter_keeps_the_error(engine: Engine) -> None:
    inbox.enqueue(engine, event=make_event())
    claim = _claim(engine)
    assert claim is not None
    status = inbox.fail(
        engine, claim=claim, error="LMSUnavailable: 503", max_attempts=2, base_s=60, max_s=60
    )
    assert status == InboxStatus.pending
    assert _claim(engine) is None  # waiting out its backoff (30-60 s)
    with Session(engine) as session:
        row = session.get(InboxEvent, claim.receipt_id)
        assert row is not None
        row.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
        session.add(row)
        session.commit()
    retry = _claim(engine)
    assert retry is not None and retry.attempts == 2
    status = inbox.fail(
        engine, claim=retry, error="LMSUnavailable: 503 again", max_attempts=2, base_s=0, max_s=0
    )
    assert status == InboxStatus.dead
    dead = inbox.get(engine, receipt_id=claim.receipt_id)
    assert dead is not None and dead.last_error == "LMSUnavailable: 503 again"

    replayed = inbox.replay(engine, receipt_id=claim.receipt_id)
    assert replayed.status == InboxStatus.pending and replayed.attempts == 0
    with pytest.raises(NotReplayableError):
        inbox.replay(engine, receipt_id=claim.receipt_id)
    with pytest.raises(KeyError):
        inbox.replay(engine, receipt_id="rcpt_missing")


def test_permanent_failure_dead_letters_at_once(engine: Engine) -> None:
    inbox.enqueue(engine, event=make_event())
    claim = _claim(engine)
    assert claim is not None
    status = inbox.fail(
        engine,
        claim=claim,
        error="LMSRejected: 400",
        max_attempts=5,
        base_s=1,
        max_s=1,
        retryable=False,
    )
    assert status == InboxStatus.dead


def test_expired_lease_is_taken_over_and_the_old_holder_cannot_finish(engine: Engine) -> None:
    inbox.enqueue(engine, event=make_event())
    crashed = _claim(engine, "crashed", lease_s=0.01)
    assert crashed is not None
    threading.Event().wait(0.05)
    successor = _claim(engine, "successor")
    assert successor is not None and successor.receipt_id == crashed.receipt_id
    assert successor.attempts == 2
    with pytest.raises(LeaseLostError):
        inbox.complete(engine, claim=crashed, status=InboxStatus.applied, outcome={})
    inbox.complete(engine, claim=successor, status=InboxStatus.applied, outcome={})
    assert inbox.status_counts(engine)["applied"] == 1


def test_concurrent_claimers_never_share_an_event(engine: Engine) -> None:
    for _ in range(40):
        inbox.enqueue(engine, event=make_event())
    claimed: list[str] = []
    lock = threading.Lock()

    def claim_all(worker: str) -> None:
        while (claim := _claim(engine, worker)) is not None:
            with lock:
                claimed.append(claim.receipt_id)

    threads = [threading.Thread(target=claim_all, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 40
    assert len(set(claimed)) == 40


def test_manages_others_follows_applied_reports(engine: Engine) -> None:
    boss = make_employee()
    report = make_employee(manager_external_id=boss.external_id)
    assert not inbox.manages_others(engine, external_id=boss.external_id)
    inbox.enqueue(engine, event=make_event(report))
    claim = _claim(engine)
    assert claim is not None
    inbox.complete(engine, claim=claim, status=InboxStatus.applied, outcome={}, employee=report)
    assert inbox.manages_others(engine, external_id=boss.external_id)


def test_a_retry_after_longer_than_the_backoff_is_honoured(engine: Engine) -> None:
    inbox.enqueue(engine, event=make_event())
    claim = _claim(engine)
    assert claim is not None
    before = datetime.now(UTC)
    inbox.fail(
        engine,
        claim=claim,
        error="LMSUnavailable: 429",
        max_attempts=5,
        base_s=0.01,
        max_s=0.01,
        not_before_s=120,
    )
    row = inbox.get(engine, receipt_id=claim.receipt_id)
    assert row is not None
    assert row.next_attempt_at >= before + timedelta(seconds=119)


def test_an_unreadable_row_is_dead_lettered_and_does_not_block_the_queue(engine: Engine) -> None:
    broken, _ = inbox.enqueue(engine, event=make_event(occurred_at=T0))
    healthy, _ = inbox.enqueue(engine, event=make_event(occurred_at=T0 + timedelta(hours=1)))
    with Session(engine) as session:
        row = session.get(InboxEvent, broken.id)
        assert row is not None
        row.payload = {"erased": True}
        session.add(row)
        session.commit()
    claim = _claim(engine)
    assert claim is not None and claim.receipt_id == healthy.id
    dead = inbox.get(engine, receipt_id=broken.id)
    assert dead is not None and dead.status == InboxStatus.dead
    assert dead.last_error is not None and "unreadable payload" in dead.last_error
