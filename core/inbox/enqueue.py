"""Durable intake: events become inbox rows, each new one with its audit receipt entry, in
one transaction per call however many events it holds.

Taking many at once is what lets ``group_commit`` pay one commit (and one turn of the audit
chain's lock) for every delivery that arrived while the previous commit ran.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from core import audit
from core.audit import AuditEntryCreate
from core.db import as_utc, utcnow
from core.employee import HRISEvent
from core.inbox.models import InboxEvent, InboxStatus, new_receipt_id

log = logging.getLogger(__name__)

INBOX_TABLE: Table = InboxEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Arrival:
    """An event to store, with the receipt id it gets if it is new and the audit entry
    that records its arrival (built before any transaction, so a bad entry fails only its
    own delivery)."""

    event: HRISEvent
    receipt_id: str
    audit_entry: AuditEntryCreate | None = None


@dataclass(frozen=True)
class Stored:
    """What the sender is told: the receipt, and whether this delivery created it."""

    receipt_id: str
    source: str
    event_id: str
    created: bool


def enqueue_many(engine: Engine, arrivals: Sequence[Arrival]) -> list[Stored]:
    """Store ``arrivals`` in one transaction; answer one ``Stored`` per arrival, in order.

    The unique (source, event_id) constraint is the arbiter: the first arrival of an event
    (in this call, or in any earlier commit, from any process) keeps its row and receipt,
    and every other delivery of it is answered with that receipt and ``created=False``.
    New rows are inserted first and their audit entries appended last, in arrival order,
    so the chain's lock is taken after every row lock (see ``core.audit.append_in``).
    """
    if not arrivals:
        return []
    firsts: dict[tuple[str, str], Arrival] = {}
    for arrival in arrivals:
        firsts.setdefault((arrival.event.source, arrival.event.event_id), arrival)
    now = utcnow()
    # a Core connection, not an ORM session: nothing here needs objects back, and the
    # session's per-statement work was a fifth of what a batch cost
    with engine.begin() as connection:
        # in key order: two writers inserting the same events lock them in the same order
        # (PostgreSQL would otherwise deadlock two batches that share events)
        rows = [_row_values(firsts[key], now) for key in sorted(firsts)]
        inserted = _insert_new(connection, rows)
        entries = [
            a.audit_entry
            for a in firsts.values()
            if a.receipt_id in inserted and a.audit_entry is not None
        ]
        if entries:
            audit.extend_in(connection, entries=entries)
        known = {
            key: arrival.receipt_id
            for key, arrival in firsts.items()
            if arrival.receipt_id in inserted
        }
        earlier = [key for key in firsts if key not in known]
        known.update(_existing_receipts(connection, earlier))
    return [
        Stored(
            receipt_id=(receipt_id := known[(a.event.source, a.event.event_id)]),
            source=a.event.source,
            event_id=a.event.event_id,
            created=receipt_id == a.receipt_id,
        )
        for a in arrivals
    ]


def enqueue(
    engine: Engine,
    *,
    event: HRISEvent,
    audit_entry: Callable[[str], AuditEntryCreate] | None = None,
) -> tuple[InboxEvent, bool]:
    """Store one event durably; answer ``(row, True)`` if new, the first row if a duplicate.

    ``audit_entry`` builds the receipt's audit entry from its receipt id; it commits with
    the row or not at all.
    """
    receipt_id = new_receipt_id()
    entry = audit_entry(receipt_id) if audit_entry is not None else None
    (stored,) = enqueue_many(engine, [Arrival(event, receipt_id, entry)])
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(InboxEvent, stored.receipt_id)
    if row is None:  # erased between the commit and this read
        raise LookupError(f"inbox row {stored.receipt_id} vanished after its commit")
    return row, stored.created


def _row_values(arrival: Arrival, now: datetime) -> dict[str, Any]:
    """The row as ``InboxEvent``'s defaults would make it (a plain dict: no ORM object per
    delivery on the hot path)."""
    event = arrival.event
    return {
        "id": arrival.receipt_id,
        "source": event.source,
        "event_id": event.event_id,
        "event_type": event.type.value,
        "employee_external_id": event.employee_external_id,
        "occurred_at": as_utc(event.occurred_at),
        "payload": event.model_dump(mode="json"),
        "status": InboxStatus.pending.value,
        "attempts": 0,
        "next_attempt_at": now,
        "received_at": now,
    }


def _insert_new(connection: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows whose (source, event_id) is not taken; answer the ids inserted.

    ``ON CONFLICT DO NOTHING`` instead of catching the IntegrityError: one conflict must not
    undo the others, and on PostgreSQL it waits for a concurrent writer of the same event to
    commit or roll back, so the loser sees the winner's row afterwards.
    """
    statement: Insert
    if connection.dialect.name == "postgresql":
        statement = postgresql.insert(INBOX_TABLE).on_conflict_do_nothing(
            index_elements=["source", "event_id"]
        )
    else:
        statement = sqlite.insert(INBOX_TABLE).on_conflict_do_nothing(
            index_elements=["source", "event_id"]
        )
    # a list of parameter sets, not .values(rows): SQLAlchemy batches it into multi-row
    # INSERTs ("insertmanyvalues") from one cached compilation instead of compiling a new
    # statement for every batch size
    result = connection.execute(statement.returning(INBOX_TABLE.c.id), rows)
    return set(result.scalars())


def _existing_receipts(
    connection: Connection, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The receipts of events stored by an earlier commit."""
    found: dict[tuple[str, str], str] = {}
    for source in {source for source, _ in keys}:
        event_ids = [event_id for s, event_id in keys if s == source]
        rows = connection.execute(
            select(INBOX_TABLE.c.id, INBOX_TABLE.c.event_id).where(
                INBOX_TABLE.c.source == source, INBOX_TABLE.c.event_id.in_(event_ids)
            )
        )
        found.update({(source, event_id): receipt_id for receipt_id, event_id in rows})
    missing = [key for key in keys if key not in found]
    if missing:  # the conflict said the row exists; only an erasure in between removes it
        raise LookupError(f"{len(missing)} inbox rows vanished while being deduplicated")
    return found
