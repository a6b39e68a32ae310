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


def _make_unreadable(engine: Engine, receipt_id: str) -> None:
    """Overwrite a row's payload with one that no longer reads as an event."""
    with Session(engine) as session:
        row = session.get(InboxEvent, receipt_id)
        assert row is not None
        row.payload = {"erased": True}
        session.add(row)
        session.commit()


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
    _make_unreadable(engine, broken.id)
    claim = _claim(engine)
    assert claim is not None and claim.receipt_id == healthy.id
    dead = inbox.get(engine, receipt_id=broken.id)
    assert dead is not None and dead.status == InboxStatus.dead
    assert dead.last_error is not None and "unreadable payload" in dead.last_error


def test_a_batch_claim_takes_the_oldest_ready_event_of_each_employee_up_to_the_limit(
    engine: Engine,
) -> None:
    busy, others = make_employee(), [make_employee() for _ in range(3)]
    for hours in (2, 0, 1):  # one person's three events, delivered out of order
        inbox.enqueue(engine, event=make_event(busy, occurred_at=T0 + timedelta(hours=hours)))
    for n, person in enumerate(others):
        inbox.enqueue(engine, event=make_event(person, occurred_at=T0 + timedelta(minutes=n + 1)))

    first = inbox.claim_many(engine, worker_id="w1", lease_s=30, limit=3)
    assert [c.event.employee_external_id for c in first] == [
        busy.external_id,
        others[0].external_id,
        others[1].external_id,
    ]
    assert first[0].event.occurred_at == T0  # the oldest of that person's events
    rest = inbox.claim_many(engine, worker_id="w2", lease_s=30, limit=10)
    assert [c.event.employee_external_id for c in rest] == [others[2].external_id]
    assert inbox.claim_many(engine, worker_id="w3", lease_s=30, limit=10) == []

    inbox.complete(engine, claim=first[0], status=InboxStatus.applied, outcome={})
    after = inbox.claim_many(engine, worker_id="w3", lease_s=30, limit=10)
    assert [c.event.occurred_at for c in after] == [T0 + timedelta(hours=1)]


def test_a_batch_claim_takes_over_an_expired_lease(engine: Engine) -> None:
    person = make_employee()
    inbox.enqueue(engine, event=make_event(person, occurred_at=T0))
    inbox.enqueue(engine, event=make_event(person, occurred_at=T0 + timedelta(hours=1)))
    inbox.enqueue(engine, event=make_event(occurred_at=T0 + timedelta(hours=2)))
    (crashed,) = inbox.claim_many(engine, worker_id="crashed", lease_s=0.01, limit=1)
    threading.Event().wait(0.05)

    taken = inbox.claim_many(engine, worker_id="successor", lease_s=30, limit=10)
    assert len(taken) == 2  # the crashed claim and the other person's; the later one waits
    assert taken[0].receipt_id == crashed.receipt_id and taken[0].attempts == 2
    with pytest.raises(LeaseLostError):
        inbox.complete(engine, claim=crashed, status=InboxStatus.applied, outcome={})


def test_a_batch_claim_dead_letters_unreadable_rows_and_still_fills_up(engine: Engine) -> None:
    broken, _ = inbox.enqueue(engine, event=make_event(occurred_at=T0))
    healthy = [
        inbox.enqueue(engine, event=make_event(occurred_at=T0 + timedelta(hours=n + 1)))[0]
        for n in range(2)
    ]
    _make_unreadable(engine, broken.id)
    claims = inbox.claim_many(engine, worker_id="w1", lease_s=30, limit=2)
    assert [c.receipt_id for c in claims] == [row.id for row in healthy]
    dead = inbox.get(engine, receipt_id=broken.id)
    assert dead is not None and dead.status == InboxStatus.dead


def test_racing_batch_claimers_never_share_an_event_and_keep_each_persons_order(
    engine: Engine,
) -> None:
    people = [make_employee() for _ in range(8)]
    for n in range(5):
        for person in people:
            occurred_at = T0 + timedelta(minutes=5 - n)  # each person's events, newest first
            inbox.enqueue(engine, event=make_event(person, occurred_at=occurred_at))
    lock = threading.Lock()
    claimed: list[str] = []
    held: set[str] = set()  # the people some worker holds an event of right now
    order: dict[str, list[datetime]] = {p.external_id: [] for p in people}
    overlaps: list[str] = []

    def work(worker: str) -> None:
        while claims := inbox.claim_many(engine, worker_id=worker, lease_s=30, limit=3):
            with lock:
                for claim in claims:
                    person = claim.event.employee_external_id
                    if person in held:
                        overlaps.append(person)
                    held.add(person)
                    claimed.append(claim.receipt_id)
                    order[person].append(claim.event.occurred_at)
            for claim in claims:
                with lock:
                    held.discard(claim.event.employee_external_id)
                inbox.complete(engine, claim=claim, status=InboxStatus.applied, outcome={})

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 40 and len(set(claimed)) == 40
    assert overlaps == []
    assert all(times == sorted(times) for times in order.values())
    assert inbox.status_counts(engine)["applied"] == 40


def test_a_batch_claim_needs_a_positive_limit(engine: Engine) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        inbox.claim_many(engine, worker_id="w1", lease_s=30, limit=0)
