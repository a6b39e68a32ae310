"""The queue: claims under a lease, and how a claimed run ends (applied,
parked for review, failed with backoff, dead-lettered, replayed); plus the counts and
listings the admin API shows."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Integer, Table, and_, bindparam, exists, func, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Engine, Row
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from core import audit
from core.audit import AuditEntryCreate
from core.db import as_utc, session_scope, utcnow
from core.employee import Employee, HRISEvent
from core.inbox.by_keys import ByKeys
from core.inbox.employee_cursor import (
    advance_cursor,
    enqueue_refresh,
    has_active_reports,
    lock_reporting_lines,
    locked_cursors,
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


_INBOX: Table = InboxEvent.__table__  # type: ignore[attr-defined]
_NOW = bindparam("now", type_=_INBOX.c.lease_until.type)


def _not_blocked() -> ColumnElement[bool]:
    """No other event of the same employee is earlier and open, or under a live lease
    (``:now``): the readiness rule every claim applies."""
    other, mine = _INBOX.alias("other"), _INBOX.c
    earlier_open = and_(
        other.c.status.in_(OPEN_STATUSES),
        or_(
            other.c.occurred_at < mine.occurred_at,
            and_(other.c.occurred_at == mine.occurred_at, other.c.id < mine.id),
        ),
    )
    live_lease = and_(other.c.status == InboxStatus.processing, other.c.lease_until > _NOW)
    return ~exists().where(
        other.c.employee_external_id == mine.employee_external_id,
        other.c.id != mine.id,
        or_(earlier_open, live_lease),
    )


_CLAIM_COLUMNS = (
    _INBOX.c.id,
    _INBOX.c.employee_external_id,
    _INBOX.c.occurred_at,
    _INBOX.c.status,
    _INBOX.c.lease_until,
    _INBOX.c.attempts,
    _INBOX.c.payload,
)


def _walk(*where: ColumnElement[bool]) -> Select[Any]:
    """Ready rows in claim order, ``:limit`` of them at most. PostgreSQL skips rows another
    claimer holds locked; SQLite renders no FOR UPDATE (BEGIN IMMEDIATE serializes it)."""
    return (
        core_select(*_CLAIM_COLUMNS)
        .where(*where, _not_blocked())
        .order_by(_INBOX.c.occurred_at, _INBOX.c.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True, of=_INBOX)
    )


# The two walks that find ready rows, built once (SQLAlchemy caches a statement's compiled
# form, not its construction, which cost more CPU than running it): rows whose lease ran out
# (at most one per worker), and pending rows in claim order (``ix_inbox_ready``: the walk
# stops after the first rows it may take, so a claim costs the same with 10 or 100,000
# queued). ``:now`` and ``:limit`` are bound per call.
_EXPIRED = _walk(_INBOX.c.status == InboxStatus.processing, _INBOX.c.lease_until <= _NOW)
_PENDING = _walk(_INBOX.c.status == InboxStatus.pending, _INBOX.c.next_attempt_at <= _NOW)

_TAKE = (
    update(_INBOX)
    .where(
        _INBOX.c.id == bindparam("receipt_id"),
        _INBOX.c.status == bindparam("was_status"),
        _INBOX.c.lease_until.is_not_distinct_from(bindparam("was_lease", type_=_NOW.type)),
    )
    .values(status=InboxStatus.processing)
)
"""The compare-and-set that takes a row: it still has the status and lease it was read
with, so of two claimers (two SQLite processes, say) only one can win it."""

_BY_ID = update(_INBOX).where(_INBOX.c.id == bindparam("receipt_id"))
"""Sets the columns named by the call's other parameters (Core takes a parameter named as
a column for a value to SET)."""


def claim_next(engine: Engine, *, worker_id: str, lease_s: float) -> Claim | None:
    """Take the oldest ready event under a lease, or ``None`` when nothing is ready."""
    claims = claim_many(engine, worker_id=worker_id, lease_s=lease_s, limit=1)
    return claims[0] if claims else None


def claim_many(engine: Engine, *, worker_id: str, lease_s: float, limit: int) -> list[Claim]:
    """Take up to ``limit`` ready events under a lease in one transaction, oldest first:
    at most one per employee (the oldest ready one; a later one is not ready while it is
    open), each with the same safety as a single claim.

    A row whose payload no longer reads as an event (hand-edited, or written by an
    incompatible version) is dead-lettered on the spot instead of blocking every worker;
    the claim then looks again for what it may still take.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    claims: list[Claim] = []
    while len(claims) < limit:
        taken, dead = _claim_batch(
            engine, worker_id=worker_id, lease_s=lease_s, limit=limit - len(claims)
        )
        claims.extend(taken)
        if not dead:
            break
        EVENTS_PROCESSED.labels(outcome="dead").inc(dead)
    return claims


def _claim_batch(
    engine: Engine, *, worker_id: str, lease_s: float, limit: int
) -> tuple[list[Claim], int]:
    """One transaction: the claims taken and how many unreadable rows were dead-lettered.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets many workers claim without waiting on each
    other. SQLite: BEGIN IMMEDIATE serializes claimers, and the conditional UPDATE is a
    compare-and-set besides, so two processes can never both win the same row.
    """
    now = utcnow()
    taken: list[Claim] = []
    dead = 0
    with engine.begin() as connection:
        found = [
            *connection.execute(_EXPIRED, {"now": now, "limit": limit}),
            *connection.execute(_PENDING, {"now": now, "limit": limit}),
        ]
        found.sort(key=lambda row: (as_utc(row.occurred_at), row.id))
        employees: set[str] = set()
        for row in found:
            if len(taken) + dead >= limit:
                break
            if row.employee_external_id in employees:  # never two of one person at once
                continue
            employees.add(row.employee_external_id)
            try:
                event = HRISEvent.model_validate(row.payload)
            except ValidationError as error:
                connection.execute(
                    _BY_ID,
                    {
                        "receipt_id": row.id,
                        "status": InboxStatus.dead,
                        "finished_at": now,
                        "last_error": (
                            f"unreadable payload: {error.error_count()} validation errors"
                        ),
                    },
                )
                log.error("dead-lettered unreadable inbox row %s", row.id)
                dead += 1
                continue
            attempts = row.attempts + 1
            won = connection.execute(
                _TAKE,
                {
                    "receipt_id": row.id,
                    "was_status": row.status,
                    "was_lease": row.lease_until,
                    "claimed_by": worker_id,
                    "lease_until": now + timedelta(seconds=lease_s),
                    "attempts": attempts,
                },
            )
            if won.rowcount == 1:
                taken.append(
                    Claim(receipt_id=row.id, worker_id=worker_id, attempts=attempts, event=event)
                )
    return taken, dead


_HOLDERS = ByKeys.build(
    _INBOX.c.id,
    lambda of: (
        core_select(_INBOX.c.id, _INBOX.c.status, _INBOX.c.claimed_by)
        .where(of)
        .order_by(_INBOX.c.id)  # row locks in one order: two overlapping batches cannot deadlock
        .with_for_update()
    ),
)


def _holds(holder: Row[Any] | None, claim: Claim) -> bool:
    """Only the claim's holder may touch a row it is processing (``holder``: the row's
    status and claimer, read under a row lock)."""
    return (
        holder is not None
        and holder.status == InboxStatus.processing
        and holder.claimed_by == claim.worker_id
    )


def _holding(holder: Row[Any] | None, claim: Claim) -> None:
    if not _holds(holder, claim):
        raise LeaseLostError(f"{claim.receipt_id} is no longer held by {claim.worker_id}")


def _held(session: Session, claim: Claim) -> InboxEvent:
    row = session.get(InboxEvent, claim.receipt_id, with_for_update=True)
    if row is None or row.status != InboxStatus.processing or row.claimed_by != claim.worker_id:
        raise LeaseLostError(f"{claim.receipt_id} is no longer held by {claim.worker_id}")
    return row


def renew_lease(engine: Engine, *, claim: Claim, lease_s: float) -> None:
    with engine.begin() as connection:
        _holding(_HOLDERS.execute(connection, [claim.receipt_id]).first(), claim)
        connection.execute(
            _BY_ID,
            {"receipt_id": claim.receipt_id, "lease_until": utcnow() + timedelta(seconds=lease_s)},
        )


@dataclass(frozen=True)
class Completion:
    """How one claimed run ends: the arguments of `complete`, for `complete_many`."""

    claim: Claim
    status: InboxStatus
    outcome: dict[str, Any]
    employee: Employee | None = None
    mapped_as_manager: bool | None = None
    audit_entries: Sequence[AuditEntryCreate] = ()


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
    Raises `LeaseLostError` (and records nothing) if the claim is no longer held.
    """
    completion = Completion(claim, status, outcome, employee, mapped_as_manager, audit_entries)
    if complete_many(engine, completions=[completion]):
        raise LeaseLostError(f"{claim.receipt_id} is no longer held by {claim.worker_id}")


def complete_many(engine: Engine, *, completions: Sequence[Completion]) -> list[Claim]:
    """Finish many events in one transaction, each as `complete` would, in order; returns
    the claims no longer held (their lease ran out and another worker took them over),
    which are left as they are instead of failing the others.

    The events must be of different people (a batch of `claim_many` is). A completion
    already recorded by an earlier try of the same run is skipped, as `complete` returns
    early on it. Locks are taken in one order whatever the batch: the inbox rows (by id),
    the reporting lines (sorted advisory locks, PostgreSQL), the cursors (by person), the
    audit chain last, after every row lock.
    """
    if not completions:
        return []
    people = [c.claim.event.employee_external_id for c in completions]
    if len(set(people)) < len(people):
        raise ValueError("a batch of completions holds two events of one person")
    lost: list[Claim] = []
    finishing: list[Completion] = []
    with session_scope(engine) as session:
        holders = {
            row.id: row
            for row in _HOLDERS.execute(
                session.connection(), [c.claim.receipt_id for c in completions]
            )
        }
        for completion in completions:
            claim, holder = completion.claim, holders.get(completion.claim.receipt_id)
            if (
                holder is not None
                and holder.status == completion.status
                and holder.claimed_by == claim.worker_id
            ):
                continue  # already recorded by an earlier try of this same run
            if _holds(holder, claim):
                finishing.append(completion)
            else:
                lost.append(claim)
        if finishing:
            _finish(session, finishing)
    for completion in finishing:  # committed; a repeat was skipped above
        EVENTS_PROCESSED.labels(outcome=completion.status.value).inc()
    return lost


def _finish(session: Session, completions: Sequence[Completion]) -> None:
    """Record held completions: their rows, the cursors of the applied ones (and the
    manager refreshes that queues), then every audit entry in one append."""
    connection, now = session.connection(), utcnow()
    connection.execute(
        _BY_ID,
        [
            {
                "receipt_id": c.claim.receipt_id,
                "status": c.status.value,
                "outcome": c.outcome,
                "finished_at": now,
                "lease_until": None,
                "last_error": None,
            }
            for c in completions
        ],
    )
    applied = [c for c in completions if c.status == InboxStatus.applied]
    if applied:
        _apply(session, applied)
    entries = [entry for c in completions for entry in c.audit_entries]
    if entries:  # last: the chain lock is taken after every row lock
        session.flush()  # a manager refresh queued above
        audit.extend_in(session, entries=entries)


def _apply(session: Session, applied: Sequence[Completion]) -> None:
    """Advance the cursors of applied events, one after the other (a report's cursor may
    change whether the next one's person manages others), and queue the refreshes."""
    lock_reporting_lines(session, applied=[(c.claim, c.employee) for c in applied])
    cursors = locked_cursors(session, [c.claim.event.employee_external_id for c in applied])
    for c in applied:
        external_id = c.claim.event.employee_external_id
        advance_cursor(session, claim=c.claim, employee=c.employee, cursor=cursors.get(external_id))
        if c.mapped_as_manager is not None and c.mapped_as_manager != has_active_reports(
            session, external_id
        ):
            enqueue_refresh(session, manager_external_id=external_id, cause=c.claim.receipt_id)


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
