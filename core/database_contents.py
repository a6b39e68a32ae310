"""Which database a process opened, said safely, and whether it holds anything yet.

An operator who runs a command against the wrong database (a fresh ``var/talentsync.db``
instead of the one the service writes) sees zero entries and concludes the service lost
them. Naming the database and its contents on every command makes that mistake visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session, col, select

from core.audit import AuditEntry
from core.db import sqlalchemy_url
from core.inbox import InboxEvent


def printable_url(database_url: str) -> str:
    """The URL with any password hidden; a SQLite file as an absolute path, since a relative
    one means a different file in every folder the command is run from."""
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        if not path or path == ":memory:":
            return database_url
        return f"sqlite:///{Path(path).resolve()}"
    try:
        url = make_url(sqlalchemy_url(database_url))
    except ArgumentError:
        return "<unparseable database URL>"
    shown = url.render_as_string(hide_password=True)
    # keep the scheme the operator wrote (postgresql://), not the driver we add
    return shown.replace(f"{url.drivername}://", f"{database_url.split('://', 1)[0]}://", 1)


@dataclass(frozen=True)
class DatabaseContents:
    inbox_events: int
    audit_entries: int

    @property
    def empty(self) -> bool:
        return self.inbox_events == 0 and self.audit_entries == 0

    def describe(self) -> str:
        return f"{self.inbox_events:,} inbox events, {self.audit_entries:,} audit entries"


def database_contents(engine: Engine) -> DatabaseContents:
    """Cheap at any size: the audit chain is append-only with seq 1..n, so its count is its
    highest seq (an index lookup)."""
    with Session(engine) as session:
        events = session.exec(select(func.count()).select_from(InboxEvent)).one()
        head = session.exec(select(func.max(col(AuditEntry.seq)))).one()
    return DatabaseContents(inbox_events=int(events), audit_entries=int(head or 0))
