"""The employee cursor: the newest event applied per person (which makes anything older
stale, see `core.inbox.staleness`), and the reporting lines it keeps, which decide whether
someone manages others (and queue a manager's refresh when that changes)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlmodel import Session

from core.db import as_utc, utcnow
from core.employee import Employee, EmploymentStatus, HRISEvent
from core.inbox.by_keys import ByKeys
from core.inbox.models import Claim, EmployeeCursor, InboxEvent, new_receipt_id

# Statements are built once, with the values that vary bound per call: SQLAlchemy caches a
# statement's compiled form but not its construction, which cost more CPU than running it.
# Core on the tables, not the ORM: these are a worker's reads and writes around every event.
_CURSORS: Table = EmployeeCursor.__table__  # type: ignore[attr-defined]
_INBOX: Table = InboxEvent.__table__  # type: ignore[attr-defined]
_CURSORS_OF = ByKeys.build(_CURSORS.c.external_id, lambda of: select(_CURSORS).where(of))
_CURSORS_LOCKED = ByKeys.build(  # FOR UPDATE on PostgreSQL only; SQLite is serialized already
    _CURSORS.c.external_id,
    lambda of: select(_CURSORS).where(of).order_by(_CURSORS.c.external_id).with_for_update(),
)
_INSERT_CURSOR = insert(_CURSORS)
_UPDATE_CURSOR = update(_CURSORS).where(_CURSORS.c.external_id == bindparam("key"))
"""The columns to set are the call's other parameters, named as the columns are."""
_ACTIVE_REPORT = (
    select(_CURSORS.c.external_id)
    .where(_CURSORS.c.manager_external_id == bindparam("manager_external_id"), _CURSORS.c.active)
    .limit(1)
)
_ACTIVE_MANAGERS = ByKeys.build(
    _CURSORS.c.manager_external_id,
    lambda of: select(_CURSORS.c.manager_external_id).where(of, _CURSORS.c.active).distinct(),
)
_WITH_PAYLOAD = _CURSORS.join(_INBOX, _INBOX.c.id == _CURSORS.c.last_receipt_id)
_LATEST_PAYLOAD = (
    select(_CURSORS.c.last_occurred_at, _INBOX.c.payload)
    .select_from(_WITH_PAYLOAD)
    .where(_CURSORS.c.external_id == bindparam("external_id"))
)
_LATEST_PAYLOADS = ByKeys.build(
    _CURSORS.c.external_id,
    lambda of: (
        select(_CURSORS.c.external_id, _INBOX.c.payload).select_from(_WITH_PAYLOAD).where(of)
    ),
)
_MANAGER_LOCKS = text(
    "SELECT pg_advisory_xact_lock(hashtext(wanted.name))"
    " FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS wanted(name, n) ORDER BY wanted.n"
)
"""Takes the transaction advisory locks ``:keys`` one after the other, in the array's order."""


def lock_reporting_lines(
    session: Session, *, applied: Sequence[tuple[Claim, Employee | None]]
) -> None:
    """Serialize completions that touch the same manager, so a manager's own completion and
    their report's completion can never both miss each other (write skew). SQLite is
    already serialized by BEGIN IMMEDIATE; PostgreSQL takes transaction advisory locks: for
    every event of ``applied`` (claim and new record), its person and their old and new
    managers, all in one sorted order and one statement, so two completions (of one event
    or a batch) can never each hold a lock the other waits for."""
    if session.get_bind().dialect.name != "postgresql":
        return
    connection = session.connection()
    people = [claim.event.employee_external_id for claim, _ in applied]
    was_managed_by = {
        row.external_id: row.manager_external_id for row in _CURSORS_OF.execute(connection, people)
    }
    keys = set(people)
    for claim, employee in applied:
        for manager in (
            was_managed_by.get(claim.event.employee_external_id),
            employee.manager_external_id if employee else None,
        ):
            if manager:
                keys.add(manager)
    connection.execute(_MANAGER_LOCKS, {"keys": [f"manager:{key}" for key in sorted(keys)]})


def locked_cursors(session: Session, external_ids: Sequence[str]) -> dict[str, Row[Any]]:
    """The cursors of these people, read under row locks (in key order) for `advance_cursor`."""
    rows = _CURSORS_LOCKED.execute(session.connection(), external_ids)
    return {row.external_id: row for row in rows}


def advance_cursor(
    session: Session, *, claim: Claim, employee: Employee | None, cursor: Row[Any] | None
) -> None:
    """Move the person's cursor (``cursor``: as `locked_cursors` read it, ``None`` if they
    have none yet) to this event, unless a later one is applied already."""
    occurred = as_utc(claim.event.occurred_at)
    external_id = claim.event.employee_external_id
    connection = session.connection()
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


def manages_others_many(engine: Engine, *, external_ids: Iterable[str]) -> set[str]:
    """`manages_others` for many people in one query: those of them with an active report."""
    wanted = sorted(set(external_ids))
    if not wanted:
        return set()
    with engine.connect() as connection:
        return set(_ACTIVE_MANAGERS.execute(connection, wanted).scalars())


def latest_snapshot(engine: Engine, *, external_id: str) -> Employee | None:
    """The newest applied record of a person, e.g. a manager's names for a report's
    deny-list; ``None`` for thin events (their full record never entered the inbox)."""
    with engine.connect() as connection:
        row = connection.execute(_LATEST_PAYLOAD, {"external_id": external_id}).first()
    if row is None:
        return None
    return HRISEvent.model_validate(row.payload).employee


def latest_snapshots(engine: Engine, *, external_ids: Iterable[str]) -> dict[str, Employee | None]:
    """`latest_snapshot` for many people in one query (``None`` for those with none)."""
    wanted = sorted(set(external_ids))
    snapshots: dict[str, Employee | None] = dict.fromkeys(wanted)
    if not wanted:
        return snapshots
    with engine.connect() as connection:
        rows = _LATEST_PAYLOADS.execute(connection, wanted).all()
    for row in rows:
        snapshots[row.external_id] = HRISEvent.model_validate(row.payload).employee
    return snapshots


def manager_names(engine: Engine, employee: Employee) -> list[str]:
    """The manager's names are personal values of this record too, though it holds only an id."""
    if not employee.manager_external_id:
        return []
    return _names(latest_snapshot(engine, external_id=employee.manager_external_id))


def manager_names_many(engine: Engine, employees: Sequence[Employee]) -> dict[str, list[str]]:
    """`manager_names` for many records in one query, by manager id (``""``: no manager):
    a team's records share one entry."""
    names: dict[str, list[str]] = {e.manager_external_id or "": [] for e in employees}
    managers = sorted(key for key in names if key)
    if not managers:
        return names
    with engine.connect() as connection:
        rows = _LATEST_PAYLOADS.execute(connection, managers).all()
    for row in rows:
        names[row.external_id] = _names(HRISEvent.model_validate(row.payload).employee)
    return names


def _names(manager: Employee | None) -> list[str]:
    if manager is None:
        return []
    names = [manager.given_name, manager.family_name, manager.preferred_name]
    return [n for n in names if n]
