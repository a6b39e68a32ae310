"""Decision reasoning waiting to be embedded into the vector store.

Writing one Chroma entry per event cost more than the rest of an event's bookkeeping
(a Chroma upsert is a transaction of its own); written here instead, a row per event in
the service's own database, the entries are indexed in batches. Rows are deleted only once
Chroma holds them, so a crash loses nothing: the next flush indexes what is still here.
Rows hold what the reasoning log would have stored (already screened by the PII firewall)
and the subject's pseudonym, so erasure can delete a person's rows before they are indexed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Table, Text, and_, delete, func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.sql.dml import Insert
from sqlmodel import Field, Session, SQLModel, col, select

from core.db import session_scope, utcnow


class PendingReasoning(SQLModel, table=True):
    __tablename__ = "reasoning_backlog"

    entry_id: str = Field(primary_key=True, max_length=200)
    collection: str = Field(max_length=100)
    subject: str | None = Field(default=None, index=True, max_length=128)
    document: str = Field(sa_column=Column(Text, nullable=False))
    meta: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    queued_at: datetime = Field(default_factory=utcnow, index=True)


BACKLOG_TABLE: Table = PendingReasoning.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class QueuedReasoning:
    """One entry to queue, as `put` takes it."""

    entry_id: str
    collection: str
    document: str
    meta: Mapping[str, Any]


def put(
    engine: Engine, *, entry_id: str, collection: str, document: str, meta: Mapping[str, Any]
) -> None:
    """Idempotent on ``entry_id``: a resumed run queues the same entry again, not a twin.

    One upsert, not a read and a write: it runs once per event, in its own commit."""
    put_many(engine, [QueuedReasoning(entry_id, collection, document, meta)])


def put_many(engine: Engine, entries: Sequence[QueuedReasoning]) -> None:
    """`put` for a batch of runs' entries, in one commit."""
    if not entries:
        return
    now = utcnow()
    rows = []
    latest = {entry.entry_id: entry for entry in entries}  # one row may not be upserted twice
    for entry in latest.values():
        subject = entry.meta.get("subject")
        rows.append(
            {
                "entry_id": entry.entry_id,
                "collection": entry.collection,
                "document": entry.document,
                "meta": dict(entry.meta),
                "subject": subject if isinstance(subject, str) else None,
                "queued_at": now,
            }
        )
    with engine.begin() as connection:
        connection.execute(_upsert(connection.dialect.name), rows)


@functools.cache
def _upsert(dialect: str) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(BACKLOG_TABLE)
    replaced = {name: statement.excluded[name] for name in UPSERTED}
    return statement.on_conflict_do_update(index_elements=["entry_id"], set_=replaced)


UPSERTED = ("collection", "document", "meta", "subject", "queued_at")


def oldest(engine: Engine, *, collection: str, limit: int) -> list[PendingReasoning]:
    with Session(engine) as session:
        rows = session.exec(
            select(PendingReasoning)
            .where(PendingReasoning.collection == collection)
            .order_by(col(PendingReasoning.queued_at))
            .limit(limit)
        ).all()
        return list(rows)


def remove_indexed(engine: Engine, rows: list[PendingReasoning]) -> None:
    """Delete the rows as they were read: one queued again meanwhile (a resumed run wrote a
    newer text) stays for the next flush."""
    if not rows:
        return
    same = [
        and_(
            col(PendingReasoning.entry_id) == row.entry_id,
            col(PendingReasoning.queued_at) == row.queued_at,
        )
        for row in rows
    ]
    with session_scope(engine) as session:
        session.execute(delete(PendingReasoning).where(or_(*same)))


def count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(PendingReasoning)).one())


def forget_subject(engine: Engine, subject: str) -> int:
    """Erasure: a person's reasoning not indexed yet."""
    with session_scope(engine) as session:
        result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            delete(PendingReasoning).where(col(PendingReasoning.subject) == subject)
        )
        return int(result.rowcount or 0)
