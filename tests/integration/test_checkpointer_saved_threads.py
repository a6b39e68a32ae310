"""`saved_threads` answers as `get_tuple` per thread would, in one query, on the SQLite and
the PostgreSQL checkpointers (and per thread on any other saver)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

from agents.checkpointer import open_checkpointer, saved_threads, thread_config
from core.settings import Settings
from tests.conftest import _postgres_database

SAVED = [f"rcpt_saved{i}" for i in range(3)]
ASKED = [*SAVED, "rcpt_never", "rcpt_subgraph_only", SAVED[0]]  # a repeat too


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "memory"])
def checkpointer(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[BaseCheckpointSaver[str]]:
    if request.param == "memory":
        yield InMemorySaver()
        return
    if request.param == "sqlite":
        settings = Settings(var_dir=tmp_path)
        with open_checkpointer(settings) as saver:
            yield saver
        return
    for url in _postgres_database():
        with open_checkpointer(Settings(var_dir=tmp_path, database_url=url)) as saver:
            yield saver


def _save(saver: BaseCheckpointSaver[str], thread_id: str, namespace: str = "") -> None:
    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": namespace}}
    saver.put(config, empty_checkpoint(), {}, {})  # type: ignore[arg-type]


def test_saved_threads_are_those_get_tuple_finds(checkpointer: BaseCheckpointSaver[str]) -> None:
    for thread_id in SAVED:
        _save(checkpointer, thread_id)
    _save(checkpointer, "rcpt_subgraph_only", namespace="child:1")

    found = saved_threads(checkpointer, ASKED)
    assert found == {t for t in ASKED if checkpointer.get_tuple(thread_config(t)) is not None}
    assert found == set(SAVED)
    assert saved_threads(checkpointer, []) == set()


def test_saved_threads_asks_sqlite_once(tmp_path: Path) -> None:
    with open_checkpointer(Settings(var_dir=tmp_path)) as saver:
        assert isinstance(saver, SqliteSaver)
        _save(saver, SAVED[0])
        sent: list[str] = []
        connection: sqlite3.Connection = saver.conn
        connection.set_trace_callback(sent.append)
        try:
            assert saved_threads(saver, ASKED) == {SAVED[0]}
        finally:
            connection.set_trace_callback(None)
    assert len(sent) == 1
    assert sent[0].startswith("SELECT DISTINCT thread_id FROM checkpoints")
