"""Whether a claimed event is overtaken: a later event of the same person was already
applied (the employee cursor is past it) or waits for review (the newest snapshot is the
one to decide on). Either way the event ends as stale, with the reason built here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Engine, Row
from sqlmodel import Session

from core.db import as_utc
from core.inbox.by_keys import ByKeys
from core.inbox.models import Claim, EmployeeCursor, InboxEvent, InboxStatus

# Built once (SQLAlchemy caches the compiled form, not the construction): every run asks.
_CURSORS: Table = EmployeeCursor.__table__  # type: ignore[attr-defined]
_INBOX: Table = InboxEvent.__table__  # type: ignore[attr-defined]
_CURSORS_OF = ByKeys.build(_CURSORS.c.external_id, lambda of: select(_CURSORS).where(of))
_WAITING_OF = ByKeys.build(
    _INBOX.c.employee_external_id,
    lambda of: select(_INBOX.c.id, _INBOX.c.employee_external_id, _INBOX.c.occurred_at).where(
        of, _INBOX.c.status == InboxStatus.awaiting_review
    ),
)


def is_stale(engine: Engine, *, claim: Claim) -> EmployeeCursor | None:
    """The cursor that makes this event stale, or ``None`` if it may be applied."""
    with engine.connect() as connection:
        cursor = _CURSORS_OF.execute(connection, [claim.event.employee_external_id]).first()
    return _overtaking_cursor(cursor, claim)


def newer_waiting_for_review(engine: Engine, *, claim: Claim) -> InboxEvent | None:
    """A later event of the same person parked for review, if any: it makes this one stale
    as surely as an applied one would (the newest snapshot is the one to decide on)."""
    with engine.connect() as connection:
        parked = _WAITING_OF.execute(connection, [claim.event.employee_external_id]).all()
    newest = _newest_waiting(parked, claim)
    if newest is None:
        return None
    with Session(engine, expire_on_commit=False) as session:
        return session.get(InboxEvent, newest.id)


def overtaken_many(engine: Engine, *, claims: Sequence[Claim]) -> dict[str, dict[str, Any]]:
    """Why each overtaken one of ``claims`` is stale, by receipt id (the others are absent):
    the outcome its inbox row ends with. Two queries at most, whatever the batch size: the
    cursors, then the parked events of those not overtaken by their cursor."""
    reasons: dict[str, dict[str, Any]] = {}
    if not claims:
        return reasons
    with engine.connect() as connection:
        people = sorted({c.event.employee_external_id for c in claims})
        cursors = {row.external_id: row for row in _CURSORS_OF.execute(connection, people)}
        for claim in claims:
            applied = _overtaking_cursor(cursors.get(claim.event.employee_external_id), claim)
            if applied is not None:
                reasons[claim.receipt_id] = {
                    "reason": "an event that occurred later was already applied",
                    "applied_receipt_id": applied.last_receipt_id,
                    "applied_occurred_at": applied.last_occurred_at.isoformat(),
                }
        undecided = [c for c in claims if c.receipt_id not in reasons]
        if not undecided:
            return reasons
        people = sorted({c.event.employee_external_id for c in undecided})
        parked = _WAITING_OF.execute(connection, people).all()
    for claim in undecided:
        mine = (r for r in parked if r.employee_external_id == claim.event.employee_external_id)
        waiting = _newest_waiting(mine, claim)
        if waiting is not None:
            reasons[claim.receipt_id] = {
                "reason": "an event that occurred later is waiting for review",
                "waiting_receipt_id": waiting.id,
                "waiting_occurred_at": as_utc(waiting.occurred_at).isoformat(),
            }
    return reasons


def _overtaking_cursor(cursor: Row[Any] | None, claim: Claim) -> EmployeeCursor | None:
    """The person's cursor (a row of the table) if it is past this event."""
    if cursor is None or cursor.last_receipt_id == claim.receipt_id:
        return None
    if as_utc(claim.event.occurred_at) < as_utc(cursor.last_occurred_at):
        return EmployeeCursor.model_validate(cursor._asdict())
    return None


def _newest_waiting(parked: Iterable[Row[Any]], claim: Claim) -> Row[Any] | None:
    """The latest of the person's parked events (``parked``) that occurred after this one;
    of two at the same moment, the one with the greater receipt id, whatever the read order."""
    occurred_at = as_utc(claim.event.occurred_at)
    later = [
        row
        for row in parked
        if row.id != claim.receipt_id and as_utc(row.occurred_at) > occurred_at
    ]
    return max(later, key=lambda row: (as_utc(row.occurred_at), row.id), default=None)
