"""The employee cursor: the newest event applied per person, which makes anything older
stale, and the reporting lines it keeps, which decide whether someone manages others (and
queue a manager's refresh when that changes)."""

from __future__ import annotations

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from core.db import as_utc, utcnow
from core.employee import Employee, EmploymentStatus, HRISEvent
from core.inbox.models import Claim, EmployeeCursor, InboxEvent, new_receipt_id

# Statements are built once, with the values that vary bound per call: SQLAlchemy caches a
# statement's compiled form but not its construction, which cost more CPU than running it.
# Core on the tables, not the ORM: these are a worker's reads and writes around every event.
_CURSORS: Table = EmployeeCursor.__table__  # type: ignore[attr-defined]
_INBOX: Table = InboxEvent.__table__  # type: ignore[attr-defined]
_CURSOR = select(_CURSORS).where(_CURSORS.c.external_id == bindparam("external_id"))
_CURSOR_LOCKED = _CURSOR.with_for_update()  # PostgreSQL only; SQLite is serialized already
_INSERT_CURSOR = insert(_CURSORS)
_UPDATE_CURSOR = update(_CURSORS).where(_CURSORS.c.external_id == bindparam("key"))
"""The columns to set are the call's other parameters, named as the columns are."""
_ACTIVE_REPORT = (
    select(_CURSORS.c.external_id)
    .where(_CURSORS.c.manager_external_id == bindparam("manager_external_id"), _CURSORS.c.active)
    .limit(1)
)
_LATEST_PAYLOAD = (
    select(_CURSORS.c.last_occurred_at, _INBOX.c.payload)
    .select_from(_CURSORS.join(_INBOX, _INBOX.c.id == _CURSORS.c.last_receipt_id))
    .where(_CURSORS.c.external_id == bindparam("external_id"))
)
_MANAGER_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:key))")


def is_stale(engine: Engine, *, claim: Claim) -> EmployeeCursor | None:
    """The cursor that makes this event stale, or ``None`` if it may be applied."""
    with engine.connect() as connection:
        cursor = connection.execute(
            _CURSOR, {"external_id": claim.event.employee_external_id}
        ).first()
    if cursor is None or cursor.last_receipt_id == claim.receipt_id:
        return None
    if as_utc(claim.event.occurred_at) < as_utc(cursor.last_occurred_at):
        return EmployeeCursor.model_validate(cursor._asdict())
    return None


def lock_reporting_lines(session: Session, *, claim: Claim, employee: Employee | None) -> None:
    """Serialize completions that touch the same manager, so a manager's own completion and
    their report's completion can never both miss each other (write skew). SQLite is
    already serialized by BEGIN IMMEDIATE; PostgreSQL takes transaction advisory locks."""
    if session.get_bind().dialect.name != "postgresql":
        return
    connection = session.connection()
    keys = {claim.event.employee_external_id}
    cursor = connection.execute(_CURSOR, {"external_id": claim.event.employee_external_id}).first()
    for manager in (
        cursor.manager_external_id if cursor else None,
        employee.manager_external_id if employee else None,
    ):
        if manager:
            keys.add(manager)
    for key in sorted(keys):  # one global order: no deadlocks between two completions
        connection.execute(_MANAGER_LOCK, {"key": f"manager:{key}"})


def advance_cursor(session: Session, *, claim: Claim, employee: Employee | None) -> None:
    occurred = as_utc(claim.event.occurred_at)
    external_id = claim.event.employee_external_id
    connection = session.connection()
    cursor = connection.execute(_CURSOR_LOCKED, {"external_id": external_id}).first()
    if cursor is not None and occurred < as_utc(cursor.last_occurred_at):
        return
    before = (None, True) if cursor is None else (cursor.manager_external_id, cursor.active)
    after = before
    if employee is not None:
        active = employee.employment_status != EmploymentStatus.inactive
        after = (employee.manager_external_id, active)
    managers = {m for m in (before[0], after[0]) if m} if before != after else set()
    was = {m: _has_active_reports(connection, m) for m in managers}
    values = {
        "last_occurred_at": occurred,
        "last_receipt_id": claim.receipt_id,
        "manager_external_id": after[0],
        "active": after[1],
        "updated_at": utcnow(),
    }
    if cursor is None:
        connection.execute(_INSERT_CURSOR, {"external_id": external_id, **values})
    else:
        connection.execute(_UPDATE_CURSOR, {"key": external_id, **values})
    for manager in sorted(managers):
        if _has_active_reports(connection, manager) != was[manager]:
            enqueue_refresh(session, manager_external_id=manager, cause=claim.receipt_id)


def has_active_reports(session: Session, manager_external_id: str) -> bool:
    return _has_active_reports(session.connection(), manager_external_id)


def _has_active_reports(connection: Connection, manager_external_id: str) -> bool:
    found = connection.execute(_ACTIVE_REPORT, {"manager_external_id": manager_external_id})
    return found.first() is not None


def enqueue_refresh(session: Session, *, manager_external_id: str, cause: str) -> None:
    """Re-run a manager whose first report arrived or last report left.

    Whether someone manages others is not in their own record, so no HRIS event of theirs
    would ever fix their manager programme. The refresh replays their last applied event
    with the same occurrence time: not stale, and older than anything newer from the HRIS.
    A manager never applied yet needs none: their own first event will see the reports.
    """
    last = (
        session.connection().execute(_LATEST_PAYLOAD, {"external_id": manager_external_id}).first()
    )
    if last is None:
        return
    previous = HRISEvent.model_validate(last.payload)
    refresh = previous.model_copy(
        update={
            "event_id": f"refresh:{manager_external_id}:{cause}",
            "changed_fields": ["direct_reports"],
        }
    )
    session.add(
        InboxEvent(
            id=new_receipt_id(),
            source=refresh.source,
            event_id=refresh.event_id,
            event_type=refresh.type.value,
            employee_external_id=manager_external_id,
            occurred_at=as_utc(last.last_occurred_at),
            payload=refresh.model_dump(mode="json"),
        )
    )


def manages_others(engine: Engine, *, external_id: str) -> bool:
    """Whether anyone active currently reports to this person, as far as applied events tell."""
    with engine.connect() as connection:
        return _has_active_reports(connection, external_id)


def latest_snapshot(engine: Engine, *, external_id: str) -> Employee | None:
    """The newest applied record of a person, e.g. a manager's names for a report's
    deny-list; ``None`` for thin events (their full record never entered the inbox)."""
    with engine.connect() as connection:
        row = connection.execute(_LATEST_PAYLOAD, {"external_id": external_id}).first()
    if row is None:
        return None
    return HRISEvent.model_validate(row.payload).employee


def manager_names(engine: Engine, employee: Employee) -> list[str]:
    """The manager's names are personal values of this record too, though it holds only an id."""
    if not employee.manager_external_id:
        return []
    manager = latest_snapshot(engine, external_id=employee.manager_external_id)
    if manager is None:
        return []
    names = [manager.given_name, manager.family_name, manager.preferred_name]
    return [n for n in names if n]
