"""The employee cursor: the newest event applied per person, which makes anything older
stale, and the reporting lines it keeps, which decide whether someone manages others (and
queue a manager's refresh when that changes)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.db import as_utc, utcnow
from core.employee import Employee, EmploymentStatus, HRISEvent
from core.inbox.models import Claim, EmployeeCursor, InboxEvent, new_receipt_id


def is_stale(engine: Engine, *, claim: Claim) -> EmployeeCursor | None:
    """The cursor that makes this event stale, or ``None`` if it may be applied."""
    with Session(engine) as session:
        cursor = session.get(EmployeeCursor, claim.event.employee_external_id)
        if cursor is None or cursor.last_receipt_id == claim.receipt_id:
            return None
        if as_utc(claim.event.occurred_at) < cursor.last_occurred_at:
            return cursor
        return None


def lock_reporting_lines(session: Session, *, claim: Claim, employee: Employee | None) -> None:
    """Serialize completions that touch the same manager, so a manager's own completion and
    their report's completion can never both miss each other (write skew). SQLite is
    already serialized by BEGIN IMMEDIATE; PostgreSQL takes transaction advisory locks."""
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = {claim.event.employee_external_id}
    cursor = session.get(EmployeeCursor, claim.event.employee_external_id)
    for manager in (
        cursor.manager_external_id if cursor else None,
        employee.manager_external_id if employee else None,
    ):
        if manager:
            keys.add(manager)
    for key in sorted(keys):  # one global order: no deadlocks between two completions
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"manager:{key}"}
        )


def advance_cursor(session: Session, *, claim: Claim, employee: Employee | None) -> None:
    occurred = as_utc(claim.event.occurred_at)
    external_id = claim.event.employee_external_id
    cursor = session.get(EmployeeCursor, external_id, with_for_update=True)
    if cursor is None:
        cursor = EmployeeCursor(
            external_id=external_id, last_occurred_at=occurred, last_receipt_id=claim.receipt_id
        )
        session.add(cursor)
    elif occurred < cursor.last_occurred_at:
        return
    cursor.last_occurred_at, cursor.last_receipt_id = occurred, claim.receipt_id
    cursor.updated_at = utcnow()
    if employee is None:
        return
    before = (cursor.manager_external_id, cursor.active)
    after = (employee.manager_external_id, employee.employment_status != EmploymentStatus.inactive)
    if before == after:
        return
    managers = {m for m in (before[0], after[0]) if m}
    was = {m: has_active_reports(session, m) for m in managers}
    cursor.manager_external_id, cursor.active = after
    session.flush()
    for manager in managers:
        if has_active_reports(session, manager) != was[manager]:
            enqueue_refresh(session, manager_external_id=manager, cause=claim.receipt_id)


def has_active_reports(session: Session, manager_external_id: str) -> bool:
    report = session.exec(
        select(EmployeeCursor.external_id)
        .where(EmployeeCursor.manager_external_id == manager_external_id, EmployeeCursor.active)
        .limit(1)
    ).first()
    return report is not None


def enqueue_refresh(session: Session, *, manager_external_id: str, cause: str) -> None:
    """Re-run a manager whose first report arrived or last report left.

    Whether someone manages others is not in their own record, so no HRIS event of theirs
    would ever fix their manager programme. The refresh replays their last applied event
    with the same occurrence time: not stale, and older than anything newer from the HRIS.
    A manager never applied yet needs none: their own first event will see the reports.
    """
    cursor = session.get(EmployeeCursor, manager_external_id)
    last = session.get(InboxEvent, cursor.last_receipt_id) if cursor else None
    if cursor is None or last is None:
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
            occurred_at=cursor.last_occurred_at,
            payload=refresh.model_dump(mode="json"),
        )
    )


def manages_others(engine: Engine, *, external_id: str) -> bool:
    """Whether anyone active currently reports to this person, as far as applied events tell."""
    with Session(engine) as session:
        return has_active_reports(session, external_id)


def latest_snapshot(engine: Engine, *, external_id: str) -> Employee | None:
    """The newest applied record of a person, e.g. a manager's names for a report's
    deny-list; ``None`` for thin events (their full record never entered the inbox)."""
    with Session(engine) as session:
        cursor = session.get(EmployeeCursor, external_id)
        row = session.get(InboxEvent, cursor.last_receipt_id) if cursor else None
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
