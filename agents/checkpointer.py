"""LangGraph checkpointers: SQLite beside the embedded database, PostgreSQL in production;
and deleting a run's checkpoints, which erasure and retention both do."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver

from core.settings import Settings

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

SETUP_LOCK = "talentsync:checkpoint-setup"
"""The PostgreSQL advisory lock one process holds while it creates the checkpoint tables."""


@contextmanager
def open_checkpointer(settings: Settings) -> Iterator[BaseCheckpointSaver[str]]:
    """Checkpoints live where the inbox lives, so a restarted worker finds both."""
    if settings.is_postgres:
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        conninfo = settings.database_url.replace("postgresql+psycopg://", "postgresql://")
        with ConnectionPool(
            conninfo,
            min_size=1,
            max_size=max(4, settings.worker_threads * 2),
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        ) as pool:
            postgres = PostgresSaver(pool)  # type: ignore[arg-type]  # rows are dicts, see kwargs
            with _setup_lock(pool):
                postgres.setup()
            yield postgres
        return
    settings.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(settings.checkpoint_path, check_same_thread=False, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    # as for the inbox (core.db): a commit survives a crash of the process, and only an OS
    # crash can take the last ones; FULL syncs every checkpoint write, ~10 per event
    connection.execute("PRAGMA synchronous=NORMAL")
    try:
        saver = SqliteSaver(connection)
        saver.setup()
        yield saver
    finally:
        connection.close()


@contextmanager
def _setup_lock(pool: ConnectionPool[Any]) -> Iterator[None]:
    """One process at a time creates the checkpoint tables: several workers starting at
    once on a fresh database would each run the migrations, and all but one die of a
    duplicate table or version.

    Tried, not waited for: a session blocked in ``pg_advisory_lock`` sits in a transaction,
    which the migrations' ``CREATE INDEX CONCURRENTLY`` waits out, so holder and waiters
    would wait for each other forever."""
    with pool.connection() as connection:
        while not connection.execute(
            "SELECT pg_try_advisory_lock(hashtext(%s)) AS locked", (SETUP_LOCK,)
        ).fetchone()["locked"]:
            time.sleep(0.05)
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(hashtext(%s))", (SETUP_LOCK,))


def thread_config(thread_id: str) -> RunnableConfig:
    """The config naming one run's checkpoints (thread id = inbox receipt id)."""
    return {"configurable": {"thread_id": thread_id}}


_SQLITE_CHUNK = 500
"""Ids per query on SQLite: well under its limit on bound parameters (32,766)."""


def saved_threads(checkpointer: BaseCheckpointSaver[str], thread_ids: Iterable[str]) -> set[str]:
    """Which of ``thread_ids`` have a checkpoint, as `get_tuple` would find one (the root
    graph's, namespace ``""``): one query on SQLite and PostgreSQL instead of one
    ``get_tuple`` (which reads and decodes the newest checkpoint) per id; any other saver
    is asked per id."""
    wanted = list(dict.fromkeys(thread_ids))
    if not wanted:
        return set()
    if isinstance(checkpointer, SqliteSaver):
        found: set[str] = set()
        with checkpointer.cursor(transaction=False) as cursor:
            for start in range(0, len(wanted), _SQLITE_CHUNK):
                chunk = wanted[start : start + _SQLITE_CHUNK]
                marks = ", ".join("?" * len(chunk))  # placeholders only: the ids are bound
                cursor.execute(
                    "SELECT DISTINCT thread_id FROM checkpoints"  # noqa: S608
                    f" WHERE checkpoint_ns = '' AND thread_id IN ({marks})",
                    chunk,
                )
                found.update(row[0] for row in cursor.fetchall())
        return found
    from langgraph.checkpoint.postgres import PostgresSaver

    if isinstance(checkpointer, PostgresSaver):
        with checkpointer._cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT thread_id FROM checkpoints"
                " WHERE checkpoint_ns = '' AND thread_id = ANY(%s)",
                (wanted,),
            )
            return {row["thread_id"] for row in cursor.fetchall()}
    return {t for t in wanted if checkpointer.get_tuple(thread_config(t)) is not None}


def delete_saved_threads(
    checkpointer: BaseCheckpointSaver[str], thread_ids: Iterable[str]
) -> list[str]:
    """Delete those of ``thread_ids`` that have checkpoints, in order; returns them.

    Checkpoints hold personal data, so on SQLite freed pages are zeroed from here on
    (``secure_delete``) instead of keeping the old bytes in the file's free space."""
    if isinstance(checkpointer, SqliteSaver):
        checkpointer.conn.execute("PRAGMA secure_delete = ON")
    deleted: list[str] = []
    for thread_id in thread_ids:
        if checkpointer.get_tuple(thread_config(thread_id)) is not None:
            checkpointer.delete_thread(thread_id)
            deleted.append(thread_id)
    return deleted
