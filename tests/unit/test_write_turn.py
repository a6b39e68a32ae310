"""``core.inbox.write_turn``: inbox writers on one SQLite file take turns through the
kernel (a writer waits exactly until the one before it is done); other databases need
no turns."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import create_engine

from core.db import make_engine
from core.inbox.write_turn import TURN_SUFFIX, WriteTurn


def test_a_second_writer_waits_for_the_first_and_starts_when_it_is_done(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/inbox.db")
    first, second = WriteTurn(engine), WriteTurn(engine)  # own descriptors, as two processes
    order: list[str] = []
    waiting = threading.Event()

    def other_writer() -> None:
        waiting.set()
        with second:
            order.append("second")

    try:
        assert first.shared and (tmp_path / f"inbox.db{TURN_SUFFIX}").exists()
        with first:
            thread = threading.Thread(target=other_writer)
            thread.start()
            waiting.wait(5)
            time.sleep(0.2)  # ample time to barge in, were it not waiting
            order.append("first")
        started = time.perf_counter()
        thread.join(5)
        assert order == ["first", "second"]
        assert time.perf_counter() - started < 0.5  # woken by the release, not by polling
    finally:
        first.close()
        second.close()
        engine.dispose()


def test_only_a_sqlite_file_takes_turns() -> None:
    for url in ("sqlite://", "sqlite:///:memory:", "postgresql+psycopg://u@localhost/db"):
        turn = WriteTurn(create_engine(url))
        assert not turn.shared
        with turn:  # a no-op, never an error
            pass
        turn.close()
