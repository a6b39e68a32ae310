"""Right to erasure for one person, across everything this service stores about them.

What goes, in this order, so that a run interrupted anywhere can simply be repeated:

1. LangGraph checkpoints of the person's runs (thread id = inbox receipt id), and of other
   people's runs whose state names them (a report's ``manager_external_id``).
2. In one transaction: every inbox row of theirs is reduced to a stub keyed by their
   pseudonym (status and timestamps kept, so counts stay honest; rows not yet finished are
   closed as ``stale`` so no worker ever runs an erased event and a dead letter can no
   longer be replayed); their ``employee_cursor`` row is deleted; every other reference by
   raw id (cursors and inbox payloads of their reports) is cleared.
3. Their vault key is shredded, which makes every vault entry of theirs unreadable.
4. On SQLite, freed pages and the write-ahead log still hold the old bytes: both files are
   vacuumed and the WAL truncated. PostgreSQL reclaims dead rows with (auto)vacuum.

Out of scope here: the LMS is the customer's own system, so deleting the account there is
the customer's decision and process (this service only stops writing to it). Backups of
this database keep plaintext inbox payloads until they expire; vault entries in backups
are safe, their key is gone.

Hooks still to add (see the report): Chroma reasoning records and approved-mapping memory,
and the audit trail, must be erased by pseudonym here once they store anything per person.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from pydantic import BaseModel, Field
from sqlalchemy import Text, cast, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from agents.checkpointer import delete_saved_threads, open_checkpointer, thread_config
from core import audit, reasoning_backlog
from core.audit import ActorKind, AuditAction, AuditEntryCreate
from core.db import as_utc, session_scope, utcnow
from core.inbox import OPEN_STATUSES, EmployeeCursor, InboxEvent, InboxStatus
from core.settings import Settings
from core.vault import load_keys, pseudonym, shred
from vectorstore.client import chroma_client
from vectorstore.erasure import forget_subject

log = logging.getLogger(__name__)

LMS_OUT_OF_SCOPE = (
    "LMS: the account in the customer's LMS is not deleted by TalentSync; the LMS is the "
    "customer's system and erasure there follows their own process."
)
KEPT_OUTCOME_KEYS = ("mapper", "catalog_version", "user_action", "reason")
ERASED_ERROR = "[erased]"


class ErasureReport(BaseModel):
    """What one erasure removed; all counts are zero when the person was already erased."""

    subject: str = Field(description="The pseudonym that now stands for the person.")
    vault_keys_shredded: int
    inbox_rows_redacted: int
    inbox_rows_closed: int = Field(
        description="Redacted rows that were still pending, in flight or dead; now stale."
    )
    checkpoint_threads_deleted: int
    cursors_deleted: int
    references_cleared: int = Field(
        description="Other people's cursor rows and inbox payloads that named them as manager."
    )
    vector_entries_deleted: int = Field(
        0, description="Approved-mapping memory and decision reasoning learned from their record."
    )
    out_of_scope: list[str] = Field(default_factory=lambda: [LMS_OUT_OF_SCOPE])


class ErasureBusyError(RuntimeError):
    """A worker is running an event that names the person; erasing now would race it."""

    def __init__(self, receipt_id: str, retry_after_s: float) -> None:
        super().__init__(f"{receipt_id} is being processed; retry in {retry_after_s:.0f}s")
        self.receipt_id, self.retry_after_s = receipt_id, retry_after_s


@dataclass
class _References:
    own: set[str] = field(default_factory=set)  # receipt ids of the person's runs
    others: set[str] = field(default_factory=set)  # runs of others that may name them


@dataclass
class _Redaction:
    references: _References
    redacted: int = 0
    closed: int = 0
    cursors_deleted: int = 0
    references_cleared: int = 0


def erase_employee(
    *, engine: Engine, settings: Settings, external_id: str, requested_by: str = "system"
) -> ErasureReport:
    """Erase one person (by HRIS id) from this service; safe to run again at any time.

    Raises ``ErasureBusyError`` while a worker holds a live lease on an event that names
    them: normally before anything is touched, or midway if a run started during the
    erasure; either way, calling again later completes it.
    """
    subject = pseudonym(external_id, secret=load_keys(settings).pseudonym)
    with Session(engine) as session:
        before = _references(session, external_id=external_id, subject=subject, lock=False)
    with open_checkpointer(settings) as checkpointer:
        deleted = _delete_threads(checkpointer, before, external_id=external_id)
        redaction = _redact_rows(engine, external_id=external_id, subject=subject)
        late = _References(  # runs that started between the first look and the redaction
            own=redaction.references.own - before.own,
            others=redaction.references.others - before.others,
        )
        deleted |= _delete_threads(checkpointer, late, external_id=external_id)
        if isinstance(checkpointer, SqliteSaver):
            _purge_sqlite(checkpointer.conn)
    vector_entries = reasoning_backlog.forget_subject(engine, subject)  # not indexed yet
    vector_entries += forget_subject(chroma_client(settings), subject)
    shredded = shred(engine, subject=subject)
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            _purge_sqlite(raw.driver_connection)  # type: ignore[arg-type]
        finally:
            raw.close()
    report = ErasureReport(
        subject=subject,
        vault_keys_shredded=int(shredded),
        inbox_rows_redacted=redaction.redacted,
        inbox_rows_closed=redaction.closed,
        checkpoint_threads_deleted=len(deleted),
        cursors_deleted=redaction.cursors_deleted,
        references_cleared=redaction.references_cleared,
        vector_entries_deleted=vector_entries,
    )
    counts = report.model_dump(exclude={"subject", "out_of_scope"})
    # the chain holds only the pseudonym and scrubbed text, so it stays whole and verifiable
    audit.append(
        engine,
        entry=AuditEntryCreate(
            subject=subject,
            actor=requested_by,
            actor_kind=ActorKind.admin if requested_by.startswith("admin") else ActorKind.system,
            action=AuditAction.erasure,
            after=counts,
            provenance={"out_of_scope": report.out_of_scope},
        ),
    )
    log.info("erased %s: %s", subject, counts)
    return report


# --- database ---------------------------------------------------------------------------


def _own_rows(session: Session, *, external_id: str, subject: str, lock: bool) -> list[InboxEvent]:
    query = select(InboxEvent).where(
        col(InboxEvent.employee_external_id).in_([external_id, subject])
    )
    return list(session.exec(query.with_for_update() if lock else query))


def _other_rows(
    session: Session, *, external_id: str, subject: str, lock: bool
) -> list[InboxEvent]:
    """Rows of other people whose payload may name the person, and every row of their
    current reports (a thin event's record, fetched from the HRIS, lives only in the run)."""
    reports = select(EmployeeCursor.external_id).where(
        EmployeeCursor.manager_external_id == external_id
    )
    query = select(InboxEvent).where(
        col(InboxEvent.employee_external_id).not_in([external_id, subject]),
        or_(
            cast(col(InboxEvent.payload), Text).contains(external_id, autoescape=True),
            col(InboxEvent.employee_external_id).in_(reports),
        ),
    )
    return list(session.exec(query.with_for_update() if lock else query))


def _references(session: Session, *, external_id: str, subject: str, lock: bool) -> _References:
    own = _own_rows(session, external_id=external_id, subject=subject, lock=lock)
    others = _other_rows(session, external_id=external_id, subject=subject, lock=lock)
    _refuse_if_busy([*own, *others])
    return _References(own={r.id for r in own}, others={r.id for r in others})


def _refuse_if_busy(rows: Iterable[InboxEvent]) -> None:
    now = utcnow()
    for row in rows:
        if row.status == InboxStatus.processing and row.lease_until is not None:
            left = (as_utc(row.lease_until) - now).total_seconds()
            if left > 0:
                raise ErasureBusyError(row.id, left)


def _redact_rows(engine: Engine, *, external_id: str, subject: str) -> _Redaction:
    with session_scope(engine) as session:
        _secure_delete(session)
        own = _own_rows(session, external_id=external_id, subject=subject, lock=True)
        others = _other_rows(session, external_id=external_id, subject=subject, lock=True)
        _refuse_if_busy([*own, *others])
        redaction = _Redaction(
            references=_References(own={r.id for r in own}, others={r.id for r in others})
        )
        for row in own:
            if row.employee_external_id != external_id:
                continue  # already erased by an earlier run
            redaction.closed += _redact(row, subject=subject, external_id=external_id)
            redaction.redacted += 1
            session.add(row)
        for row in others:
            payload = _without(row.payload, external_id)
            if payload != row.payload:
                row.payload = payload
                session.add(row)
                redaction.references_cleared += 1
        cursor = session.get(EmployeeCursor, external_id, with_for_update=True)
        if cursor is not None:
            session.delete(cursor)
            redaction.cursors_deleted = 1
        reports = session.exec(
            select(EmployeeCursor)
            .where(EmployeeCursor.manager_external_id == external_id)
            .with_for_update()
        ).all()
        for report in reports:
            report.manager_external_id = None
            session.add(report)
        redaction.references_cleared += len(reports)
        return redaction


def _redact(row: InboxEvent, *, subject: str, external_id: str) -> int:
    """Reduce one of the person's rows to a stub; ``1`` if it had to be closed as well."""
    known = _personal_values(row.payload) | {external_id}
    row.payload = {
        "erased": True,
        "subject": subject,
        "type": row.event_type,
        "occurred_at": as_utc(row.occurred_at).isoformat(),
    }
    row.employee_external_id = subject
    if row.outcome is not None:
        row.outcome = {"erased": True} | {
            k: row.outcome[k] for k in KEPT_OUTCOME_KEYS if k in row.outcome
        }
    if row.last_error is not None:
        row.last_error = ERASED_ERROR
    if any(value.lower() in row.event_id.lower() for value in known):
        digest = hmac.new(subject.encode(), row.event_id.encode(), hashlib.sha256).hexdigest()
        row.event_id = f"erased:{digest}"
    if row.status not in (*OPEN_STATUSES, InboxStatus.dead):
        return 0
    # A stub can never be processed, and a replayed dead stub would block its queue forever.
    previous = row.status
    row.status, row.lease_until, row.claimed_by = InboxStatus.stale, None, None
    row.finished_at = row.finished_at or utcnow()
    row.outcome = {"erased": True, "reason": f"employee erased while the event was {previous}"}
    return 1


def _personal_values(payload: dict[str, Any]) -> set[str]:
    employee = payload.get("employee") or {}
    fields = ("external_id", "email", "given_name", "family_name", "preferred_name")
    return {str(employee[f]) for f in fields if employee.get(f)}


def _without(value: Any, external_id: str) -> Any:
    """A copy with every string equal to ``external_id`` replaced by ``None`` (exact match:
    erasing ``E1`` must not touch ``E10``)."""
    if isinstance(value, dict):
        return {k: _without(v, external_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_without(v, external_id) for v in value]
    return None if value == external_id else value


def _mentions(value: Any, external_id: str) -> bool:
    if isinstance(value, dict):
        return any(_mentions(v, external_id) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_mentions(v, external_id) for v in value)
    return bool(value == external_id)


def _secure_delete(session: Session) -> None:
    """SQLite otherwise leaves deleted and overwritten bytes in the file's free space."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("PRAGMA secure_delete = ON")


def _purge_sqlite(connection: sqlite3.Connection) -> None:
    """Rewrite the file without free pages and empty the WAL, where old page images of the
    erased rows would otherwise survive until overwritten by chance."""
    connection.execute("PRAGMA secure_delete = ON")
    connection.commit()
    connection.execute("VACUUM")
    busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        log.warning("could not truncate the SQLite WAL (busy readers); old pages may linger")


# --- checkpoints ------------------------------------------------------------------------


def _delete_threads(
    checkpointer: BaseCheckpointSaver[str], references: _References, *, external_id: str
) -> set[str]:
    """Delete the person's threads, and others' threads whose state names them."""
    deleted = set(delete_saved_threads(checkpointer, sorted(references.own)))
    for thread_id in sorted(references.others - references.own):
        if any(
            _mentions(
                [saved.checkpoint["channel_values"], saved.metadata, saved.pending_writes],
                external_id,
            )
            for saved in checkpointer.list(thread_config(thread_id))
        ):
            checkpointer.delete_thread(thread_id)
            deleted.add(thread_id)
    return deleted


__all__ = ["ErasureBusyError", "ErasureReport", "erase_employee"]
