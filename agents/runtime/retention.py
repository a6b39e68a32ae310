"""Retention: personal data of finished runs is kept for ``audit_retention_days``, then
purged, and every purge is itself recorded in the audit trail.

What goes: the ``payload`` of finished inbox rows (the full HRIS record) is replaced by a
marker, and the LangGraph checkpoints of those runs (their state holds the record too) are
deleted. What stays: the rows themselves (status, timestamps, receipt ids), so counts and
the audit trail's references stay honest, and the audit trail, which holds no personal
data (see ``core.audit``).

Kept on purpose: the newest applied event of each employee (``employee_cursor``) keeps its
payload, because a manager refresh replays it and ``inbox.latest_snapshot`` reads it; it is
the current record, not history. Runs parked for review are not finished and stay whole.
A dead letter older than the cutoff loses its payload like any other finished run, so it
can no longer be replayed usefully.

The checkpointer is a parameter: the caller opens the one that belongs to the deployment.
Deleting its threads is ``agents.checkpointer.delete_saved_threads``, which erasure
uses as well.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Final, cast

from langgraph.checkpoint.base import BaseCheckpointSaver
from pydantic import BaseModel
from sqlalchemy import Text, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, and_, col, select

from agents.checkpointer import delete_saved_threads
from core.audit import ActorKind, AuditAction, AuditEntryCreate, append, append_in
from core.db import as_utc, session_scope, utcnow
from core.inbox import EmployeeCursor, InboxEvent, InboxStatus

log = logging.getLogger(__name__)

FINISHED_STATUSES: Final = (
    InboxStatus.applied,
    InboxStatus.stale,
    InboxStatus.rejected,
    InboxStatus.dead,
)
REDACTED_PAYLOAD: Final = {"redacted": "retention"}
_REDACTED_TEXT: Final = '{"redacted": "retention"}'  # as SQLAlchemy's JSON type writes it


class RetentionReport(BaseModel):
    older_than_days: int
    cutoff: datetime
    inbox_payloads_redacted: int
    checkpoint_threads_deleted: int


def retention_cutoff(older_than_days: int, now: datetime | None = None) -> datetime:
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1")
    return as_utc(now or utcnow()) - timedelta(days=older_than_days)


def _expired(cutoff: datetime) -> ColumnElement[bool]:
    """Finished before the cutoff and not purged yet (so a repeat purges and counts
    nothing twice)."""
    return and_(
        col(InboxEvent.status).in_(FINISHED_STATUSES),
        col(InboxEvent.finished_at) < cutoff,
        sql_cast(col(InboxEvent.payload), Text) != _REDACTED_TEXT,
    )


def expired_runs(engine: Engine, *, older_than_days: int, now: datetime | None = None) -> list[str]:
    """Receipt ids (= checkpoint thread ids) of finished runs older than the cutoff whose
    payload is not purged yet: what ``purge_checkpoints`` should get, before
    ``purge_inbox_payloads`` runs."""
    cutoff = retention_cutoff(older_than_days, now)
    with Session(engine) as session:
        return list(
            session.exec(select(InboxEvent.id).where(_expired(cutoff)).order_by(col(InboxEvent.id)))
        )


def _purge_entry(
    what: str, count: int, *, older_than_days: int | None, cutoff: datetime | None = None
) -> AuditEntryCreate:
    """The policy acts, not whoever started the job: the actor is always ``system``."""
    provenance: dict[str, Any] = {"statuses": [str(s) for s in FINISHED_STATUSES]}
    if older_than_days is not None:
        provenance["older_than_days"] = older_than_days
    if cutoff is not None:
        provenance["cutoff"] = cutoff.isoformat()
    return AuditEntryCreate(
        actor="system",
        actor_kind=ActorKind.system,
        action=AuditAction.retention_purge,
        rule=f"retention:{older_than_days}d" if older_than_days is not None else "retention",
        after={what: count},
        provenance=provenance,
    )


def purge_inbox_payloads(
    engine: Engine, *, older_than_days: int, now: datetime | None = None
) -> int:
    """Replace the payload of expired finished rows by ``REDACTED_PAYLOAD``; the count and
    its ``retention_purge`` audit entry commit together."""
    cutoff = retention_cutoff(older_than_days, now)
    current = select(EmployeeCursor.last_receipt_id)
    with session_scope(engine) as session:
        if engine.dialect.name == "sqlite":  # zero the old bytes instead of freeing them
            session.connection().exec_driver_sql("PRAGMA secure_delete = ON")
        result = session.execute(
            update(InboxEvent)
            .where(_expired(cutoff), col(InboxEvent.id).not_in(current))
            .values(payload=REDACTED_PAYLOAD)
        )
        count = cast(CursorResult[Any], result).rowcount
        entry = _purge_entry(
            "inbox_payloads_redacted", count, older_than_days=older_than_days, cutoff=cutoff
        )
        append_in(session, entry=entry)
    log.info("retention: redacted %d inbox payloads finished before %s", count, cutoff)
    return count


def purge_checkpoints(
    checkpointer: BaseCheckpointSaver[str],
    *,
    engine: Engine,
    thread_ids: Iterable[str],
    older_than_days: int | None = None,
) -> int:
    """Delete the checkpoint threads that exist among ``thread_ids``; the count is recorded
    in one ``retention_purge`` entry (after the deletion: checkpoints may live in another
    database, so the two cannot commit together)."""
    deleted = len(delete_saved_threads(checkpointer, thread_ids))
    entry = _purge_entry("checkpoint_threads_deleted", deleted, older_than_days=older_than_days)
    append(engine, entry=entry)
    log.info("retention: deleted %d checkpoint threads", deleted)
    return deleted


def apply_retention(
    engine: Engine,
    checkpointer: BaseCheckpointSaver[str],
    *,
    older_than_days: int,
    now: datetime | None = None,
) -> RetentionReport:
    """Checkpoints first, then payloads: an interrupted run is finished by the next one,
    since runs whose payload is still there are picked up again."""
    cutoff = retention_cutoff(older_than_days, now)
    threads = expired_runs(engine, older_than_days=older_than_days, now=now)
    deleted = purge_checkpoints(
        checkpointer,
        engine=engine,
        thread_ids=threads,
        older_than_days=older_than_days,
    )
    redacted = purge_inbox_payloads(engine, older_than_days=older_than_days, now=now)
    return RetentionReport(
        older_than_days=older_than_days,
        cutoff=cutoff,
        inbox_payloads_redacted=redacted,
        checkpoint_threads_deleted=deleted,
    )


__all__ = [
    "FINISHED_STATUSES",
    "REDACTED_PAYLOAD",
    "RetentionReport",
    "apply_retention",
    "expired_runs",
    "purge_checkpoints",
    "purge_inbox_payloads",
    "retention_cutoff",
]
