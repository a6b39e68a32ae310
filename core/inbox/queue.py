"""The queue: claims under a lease, and how a claimed run ends (applied,
parked for review, failed with backoff, dead-lettered, replayed); plus the counts and
listings the admin API shows."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import and_, exists, func, or_, update
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from core import audit
from core.audit import AuditEntryCreate
from core.db import as_utc, session_scope, utcnow
from core.employee import Employee, HRISEvent
from core.inbox.employee_cursor import (
    advance_cursor,
    enqueue_refresh,
    has_active_reports,
    lock_reporting_lines,
)
from core.inbox.models import OPEN_STATUSES, Claim, InboxEvent, InboxStatus
from core.metrics import EVENTS_PROCESSED

log = logging.getLogger(__name__)


class NotResumableError(RuntimeError):
    """The inbox row is not parked at a review checkpoint."""


class LeaseLostError(RuntimeError):
    """The lease expired and another worker took the event over; this worker must stop."""


class NotReplayableError(ValueError):
    pass


def _not_blocked(now: datetime) -> ColumnElement[bool]:
    """No other event of the same employee is earlier and open, or under a live lease."""
    other = aliased(InboxEvent)
    mine = InboxEvent
    earlier_open = and_(
        col(other.status).in_(OPEN_STATUSES),
        or_(
            col(other.occurred_at) < col(mine.occurred_at),
            and_(col(other.occurred_at) == col(mine.occurred_at), col(other.id) < col(mine.id)),
        ),
    )
    live_lease = and_(col(other.status) == InboxStatus.processing, col(other.lease_until) > now)
    return ~exists().where(
        col(other.employee_external_id) == col(mine.employee_external_id),
        col(other.id) != col(mine.id),
        or_(earlier_open, live_lease),
    )


def _oldest_ready(session: Session, now: datetime, *, postgres: bool) -> InboxEvent | None:
    """The oldest claimable row, found in two short walks rather than one sort of the whole
    queue: pending rows in claim order (``ix_inbox_ready``: the walk stops at the first row
    it may take, so a claim costs the same with 10 or 100,000 queued), and the few rows
    whose lease ran out (at most one per worker). Of the two, the earlier event wins."""

    def oldest(*where: ColumnElement[bool]) -> InboxEvent | None:
        query = (
            select(InboxEvent)
            .where(*where, _not_blocked(now))
            .order_by(col(InboxEvent.occurred_at), col(InboxEvent.id))
            .limit(1)
        )
        if postgres:
            query = query.with_for_update(skip_locked=True, of=InboxEvent)
        return session.exec(query).first()

    expired = oldest(
        col(InboxEvent.status) == InboxStatus.processing, col(InboxEvent.lease_until) <= now
    )
    pending = oldest(
        col(InboxEvent.status) == InboxStatus.pending, col(InboxEvent.next_attempt_at) <= now
    )
    found = [row for row in (expired, pending) if row is not None]
    return min(found, key=lambda row: (as_utc(row.occurred_at), row.id), default=None)


def claim_next(engine: Engine, *, worker_id: str, lease_s: float) -> Claim | None:
    """Take the oldest ready event under a lease, or ``None`` when nothing is ready.

    A row whose payload no longer reads as an event (hand-edited, or written by an
    incompatible version) is dead-lettered on the spot instead of blocking every worker.
    """
    while True:
        claim = _claim_once(engine, worker_id=worker_id, lease_s=lease_s)
        if not isinstance(claim, _Unreadable):
            return claim
        EVENTS_PROCESSED.labels(outcome="dead").inc()


@dataclass(frozen=True)
class _Unreadable:
    receipt_id: str


def _claim_once(engine: Engine, *, worker_id: str, lease_s: float) -> Claim | _Unreadable | None:
    """PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets many workers claim without waiting on each
    other. SQLite: the conditional UPDATE below is a compare-and-set, so two processes can
    never both win the same row.
    """
    now = utcnow()
    with session_scope(engine) as session:
        row = _oldest_ready(session, now, postgres=engine.dialect.name == "postgresql")
        if row is None:
            return None
        try:
            event = HRISEvent.model_validate(row.payload)
        except ValidationError as error:
            row.status, row.finished_at = InboxStatus.dead, now
            row.last_error = f"unreadable payload: {error.error_count()} validation errors"
            log.error("dead-lettered unreadable inbox row %s", row.id)
            return _Unreadable(row.id)
        attempts, lease = row.attempts + 1, col(InboxEvent.lease_until)
        won = session.execute(
            update(InboxEvent)
            .where(
                col(InboxEvent.id) == row.id,
                col(InboxEvent.status) == row.status,
                lease.is_(None) if row.lease_until is None else lease == row.lease_until,
            )
            .values(
                status=InboxStatus.processing,
                claimed_by=worker_id,
                lease_until=now + timedelta(seconds=lease_s),
                attempts=attempts,
            )
        )
        if cast(CursorResult[Any], won).rowcount != 1:
            return None
        return Claim(
            receipt_id=row.id,
            worker_id=worker_id,
            attempts=attempts,
            event=event,
        )


def _held(session: Session, claim: Claim) -> InboxEvent:
    row = session.get(InboxEvent, claim.receipt_id, with_for_update=True)
    if row is None or row.status != InboxStatus.processing or row.claimed_by != claim.worker_id:
        raise LeaseLostError(f"{claim.receipt_id} is no longer held by {claim.worker_id}")
    return row


def renew_lease(engine: Engine, *, claim: Claim, lease_s: float) -> None:
    with session_scope(engine) as session:
        row = _held(session, claim)
        row.lease_until = utcnow() + timedelta(seconds=lease_s)


def newer_waiting_for_review(engine: Engine, *, claim: Claim) -> InboxEvent | None:
    """A later event of the same person parked for review, if any: it makes this one stale
    as surely as an applied one would (the newest snapshot is the one to decide on)."""
    occurred_at = as_utc(claim.event.occurred_at)
    with Session(engine) as session:
        rows = session.exec(
            select(InboxEvent).where(
                col(InboxEvent.employee_external_id) == claim.event.employee_external_id,
                col(InboxEvent.status) == InboxStatus.awaiting_review,
                col(InboxEvent.id) != claim.receipt_id,
            )
        ).all()
    later = [row for row in rows if as_utc(row.occurred_at) > occurred_at]
    return max(later, key=lambda row: as_utc(row.occurred_at), default=None)


def complete(
    engine: Engine,
    *,
    claim: Claim,
    status: InboxStatus,
    outcome: dict[str, Any],
    employee: Employee | None = None,
    mapped_as_manager: bool | None = None,
    audit_entries: Sequence[AuditEntryCreate] = (),
) -> None:
    """Finish an event; an applied one advances the employee's cursor in the same commit.

    ``mapped_as_manager`` is what the mapping believed about this person's reports; if a
    report was applied meanwhile by another worker, the person is queued for a refresh.
    """
    with session_scope(engine) as session:
        row = session.get(InboxEvent, claim.receipt_id, with_for_update=True)
        if row is not None and row.status == status and row.claimed_by == claim.worker_id:
            return  # already recorded by an earlier try of this same run
        row = _held(session, claim)
        now = utcnow()
        row.status, row.outcome, row.finished_at = status, outcome, now
        row.lease_until, row.last_error = None, None
        if status == InboxStatus.applied:
            lock_reporting_lines(session, claim=claim, employee=employee)
            advance_cursor(session, claim=claim, employee=employee)
            external_id = claim.event.employee_external_id
            if mapped_as_manager is not None and mapped_as_manager != has_active_reports(
                session, external_id
            ):
                session.flush()
                enqueue_refresh(session, manager_external_id=external_id, cause=claim.receipt_id)
        if audit_entries:  # last: the chain lock is taken after every row lock
            session.flush()
            audit.append_many_in(session, entries=audit_entries)
    EVENTS_PROCESSED.labels(outcome=status.value).inc()  # committed; a repeat returned early


def park(
    engine: Engine,
    *,
    claim: Claim,
    outcome: dict[str, Any],
    audit_entries: Sequence[AuditEntryCreate] = (),
) -> None:
    """Stop at a review checkpoint: the row leaves the queue (so the employee's later events
    are not held up) without advancing the cursor, since nothing was applied."""
    with session_scope(engine) as session:
        row = _held(session, claim)
        row.status, row.outcome, row.finished_at = InboxStatus.awaiting_review, outcome, utcnow()
        row.lease_until, row.last_error = None, None
        if audit_entries:
            session.flush()
            audit.append_many_in(session, entries=audit_entries)
    EVENTS_PROCESSED.labels(outcome="parked").inc()


def reopen_for_resume(session: Session, *, receipt_id: str) -> None:
    """Queue a parked row again so a worker resumes its run; called in the same
    transaction that records the reviewer's decision, so a decision is never lost."""
    row = session.get(InboxEvent, receipt_id, with_for_update=True)
    if row is None or row.status != InboxStatus.awaiting_review:
        raise NotResumableError(f"{receipt_id} is not waiting for a review")
    row.status, row.attempts, row.next_attempt_at = InboxStatus.pending, 0, utcnow()
    row.finished_at = None


def close_parked(session: Session, *, receipt_id: str, reason: dict[str, Any]) -> None:
    """A parked run that will never resume (superseded, expired): it ends as stale."""
    row = session.get(InboxEvent, receipt_id, with_for_update=True)
    if row is not None and row.status == InboxStatus.awaiting_review:
        row.status, row.outcome, row.finished_at = InboxStatus.stale, reason, utcnow()


def backoff_delay(attempt: int, *, base_s: float, max_s: float) -> float:
    """Exponential backoff with "equal jitter": spreads retries without starving any."""
    ceiling = min(max_s, base_s * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def fail(
    engine: Engine,
    *,
    claim: Claim,
    error: str,
    max_attempts: int,
    base_s: float,
    max_s: float,
    retryable: bool = True,
    not_before_s: float | None = None,
) -> InboxStatus:
    """Record a failed attempt: reschedule with backoff, or dead-letter it with the reason.

    ``not_before_s`` is a delay the far side asked for (Retry-After): never retry sooner.
    """
    with session_scope(engine) as session:
        row = _held(session, claim)
        row.last_error = error[:4000]
        row.lease_until, row.claimed_by = None, None
        if retryable and row.attempts < max_attempts:
            row.status = InboxStatus.pending
            delay = backoff_delay(row.attempts, base_s=base_s, max_s=max_s)
            delay = max(delay, not_before_s or 0.0)
            row.next_attempt_at = utcnow() + timedelta(seconds=delay)
        else:
            row.status, row.finished_at = InboxStatus.dead, utcnow()
        status = InboxStatus(row.status)
    EVENTS_PROCESSED.labels(outcome="dead" if status == InboxStatus.dead else "retry").inc()
    return status


def replay(engine: Engine, *, receipt_id: str) -> InboxEvent:
    """Send a dead letter round again with a fresh attempt budget."""
    with session_scope(engine) as session:
        row = session.get(InboxEvent, receipt_id, with_for_update=True)
        if row is None:
            raise KeyError(receipt_id)
        if row.status != InboxStatus.dead:
            raise NotReplayableError(f"{receipt_id} is {row.status}, only dead letters replay")
        row.status, row.attempts, row.next_attempt_at = InboxStatus.pending, 0, utcnow()
        row.finished_at = None
        return row


def get(engine: Engine, *, receipt_id: str) -> InboxEvent | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(InboxEvent, receipt_id)


def list_by_status(engine: Engine, *, status: InboxStatus, limit: int = 100) -> list[InboxEvent]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(InboxEvent)
                .where(InboxEvent.status == status)
                .order_by(col(InboxEvent.received_at))
                .limit(limit)
            )
        )


def status_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.exec(
            select(InboxEvent.status, func.count()).group_by(InboxEvent.status)
        ).all()
        counts = {status.value: 0 for status in InboxStatus}
        counts.update({status: n for status, n in rows})
        return counts


def open_count(engine: Engine) -> int:
    """Events still to be finished (pending, possibly waiting on a backoff, or in flight)."""
    counts = status_counts(engine)
    return sum(counts[s.value] for s in OPEN_STATUSES)


def upcoming_records(engine: Engine, *, limit: int) -> list[tuple[str, Employee]]:
    """Employee records carried by the next pending events, in claim order: a hint for
    prefetching (no lease, no ordering guarantee against other workers). Thin events and
    unreadable payloads are left out; `claim_next` deals with those."""
    with Session(engine) as session:
        rows = session.exec(
            select(InboxEvent.id, InboxEvent.payload)
            .where(col(InboxEvent.status) == InboxStatus.pending)
            .order_by(col(InboxEvent.occurred_at), col(InboxEvent.id))
            .limit(limit)
        ).all()
    records: list[tuple[str, Employee]] = []
    for receipt_id, payload in rows:
        try:
            employee = HRISEvent.model_validate(payload).employee
        except ValidationError:
            continue
        if employee is not None:
            records.append((receipt_id, employee))
    return records
