"""Turns at SQLite's one write lock for the inbox writers of several processes.

Why: `serve --api-workers N` runs an inbox writer (``core.inbox.group_commit``) in each API
process, and SQLite lets one transaction write at a time. A writer that finds the lock
taken waits in SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25... ms between
tries whatever happens meanwhile: two writers each committing every few milliseconds kept
missing their chance, and a delivery's p99 reached a second. Taking an ``flock`` on a file
beside the database before ``BEGIN IMMEDIATE`` queues the writers in the kernel instead:
the next one starts the moment the previous one commits. The lock file only orders
intake's writers; every other writer still meets them at SQLite's lock, as before, and
the kernel drops a dead process's turn with the process.

Other databases need no turn (PostgreSQL writes concurrently), nor does an in-memory one.
"""

from __future__ import annotations

import fcntl
import os
from types import TracebackType

from sqlalchemy.engine import Engine

TURN_SUFFIX = "-intake-turn"
"""The lock file is the database's path with this appended (like SQLite's ``-wal``)."""


class WriteTurn:
    """A context manager: ``with turn:`` around one write transaction."""

    def __init__(self, engine: Engine) -> None:
        database = engine.url.database
        self._fd: int | None = None
        if engine.dialect.name == "sqlite" and database not in (None, "", ":memory:"):
            self._fd = os.open(f"{database}{TURN_SUFFIX}", os.O_RDWR | os.O_CREAT, 0o600)

    @property
    def shared(self) -> bool:
        """Whether turns are taken at all (a SQLite file)."""
        return self._fd is not None

    def __enter__(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # blocks without the GIL

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
