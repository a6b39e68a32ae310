"""Database engine and sessions, the same SQLModel code on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Every stored time is aware UTC, so SQLite and PostgreSQL compare the same way."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def sqlalchemy_url(database_url: str) -> str:
    """Point plain ``postgresql://`` URLs at psycopg 3, the driver we install."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


SqliteSync = Literal["NORMAL", "FULL"]


def make_engine(database_url: str, *, sqlite_synchronous: SqliteSync = "NORMAL") -> Engine:
    """``sqlite_synchronous``: see ``_sqlite_pragmas``; PostgreSQL ignores it (every commit
    there is flushed to its WAL before it returns)."""
    url = sqlalchemy_url(database_url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", partial(_sqlite_pragmas, synchronous=sqlite_synchronous))
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def flushing_every_commit(engine: Engine) -> Engine:
    """An engine on the same SQLite database whose commits are flushed to disk (FULL, see
    ``_sqlite_pragmas``), or ``engine`` itself when it already is (PostgreSQL, in-memory
    SQLite). The caller disposes of a new one."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return engine
    return make_engine(engine.url.render_as_string(hide_password=False), sqlite_synchronous="FULL")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, synchronous: SqliteSync) -> None:
    """WAL lets the API read while a worker writes; busy_timeout waits instead of failing.

    ``synchronous``: with NORMAL (in WAL mode) a commit is not flushed to disk until the next
    checkpoint: it survives the process crashing but not the machine losing power or the OS
    crashing, which may take the last commits with it. FULL flushes the WAL at every commit
    (about 4 ms on this machine's disk), so a commit survives a power cut too: what a 202 for
    a webhook promises, so webhook intake commits with FULL (``Services.intake``)."""
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, see below
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    """Take the write lock at BEGIN: SQLite has one writer, and a transaction that read
    first and writes later would otherwise fail outright (busy snapshot) instead of waiting.
    It also makes read-then-write checks (claims, manager refreshes) serializable."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
