"""Several worker processes started at once on a fresh PostgreSQL database all create the
LangGraph checkpoint tables: none of them may fail for it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agents.checkpointer import open_checkpointer
from core.settings import Settings

STARTING_AT_ONCE = 6


@pytest.mark.postgres
def test_checkpointers_opened_at_once_on_a_fresh_database_all_start(
    postgres_url: str, tmp_path: Path
) -> None:
    settings = Settings(var_dir=tmp_path, database_url=postgres_url)
    start = threading.Barrier(STARTING_AT_ONCE)
    errors: list[BaseException] = []
    opened: list[int] = []

    def open_one() -> None:
        start.wait()
        try:
            with open_checkpointer(settings) as checkpointer:
                opened.append(len(list(checkpointer.list(None, limit=1))))
        except BaseException as error:  # what a worker process would die of
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(STARTING_AT_ONCE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert opened == [0] * STARTING_AT_ONCE
