"""Decision reasoning queued in the database and indexed into Chroma in batches: nothing is
lost before it is indexed, nothing is indexed twice, search sees what was recorded, and
erasure reaches what is still queued."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from core import reasoning_backlog
from core.settings import Settings
from pii.guard import get_guard
from pii.identity import RecordIdentity
from vectorstore.reasoning import ReasoningLog, reasoning_log

NOBODY = RecordIdentity()


@pytest.fixture
def log(tmp_path: Path, engine: Engine) -> ReasoningLog:
    settings = Settings(var_dir=tmp_path, database_url=str(engine.url))
    return reasoning_log(settings, firewall=get_guard().firewall, backlog=engine)


def _record(log: ReasoningLog, receipt: str, text: str, subject: str = "subj-1") -> None:
    log.record(
        f"{receipt}:decision",
        text,
        metadata={"receipt_id": receipt, "subject": subject, "kind": "decision"},
        identity=NOBODY,
        allowed=[receipt, subject],
    )


def test_recorded_reasoning_waits_in_the_database_until_a_flush_indexes_it(
    log: ReasoningLog, engine: Engine
) -> None:
    for n in range(5):
        _record(log, f"r{n}", f"employee.hired: create the LMS account. Added to Group {n}.")
    assert log.collection.count() == 0
    assert reasoning_backlog.count(engine) == 5

    assert log.flush(batch=2) == 5  # three batches
    assert log.collection.count() == 5
    assert reasoning_backlog.count(engine) == 0
    stored = log.collection.get(ids=["r3:decision"])
    assert stored["documents"] == ["employee.hired: create the LMS account. Added to Group 3."]
    assert log.flush() == 0


def test_recording_the_same_entry_again_replaces_it_before_and_after_indexing(
    log: ReasoningLog, engine: Engine
) -> None:
    _record(log, "r1", "first text")
    _record(log, "r1", "second text")
    assert reasoning_backlog.count(engine) == 1
    log.flush()
    _record(log, "r1", "third text")
    log.flush()
    assert log.collection.count() == 1
    assert log.collection.get(ids=["r1:decision"])["documents"] == ["third text"]


def test_an_entry_queued_again_while_its_batch_was_indexed_is_kept_for_the_next(
    log: ReasoningLog, engine: Engine
) -> None:
    _record(log, "r1", "old text")
    read = reasoning_backlog.oldest(engine, collection=log.collection.name, limit=10)
    _record(log, "r1", "newer text")  # a resumed run, between the read and the delete
    reasoning_backlog.remove_indexed(engine, read)
    assert reasoning_backlog.count(engine) == 1
    log.flush()
    assert log.collection.get(ids=["r1:decision"])["documents"] == ["newer text"]


def test_search_indexes_what_is_queued_first(log: ReasoningLog) -> None:
    _record(log, "r1", "Added to Leadership Programme because job code 11-1021.00.")
    _record(log, "r2", "Added to Berlin because location Berlin.")
    hits = log.search("leadership programme", k=1)
    assert [hit.entry_id for hit in hits] == ["r1:decision"]


def test_erasure_deletes_a_persons_queued_reasoning(log: ReasoningLog, engine: Engine) -> None:
    _record(log, "r1", "text one", subject="subj-a")
    _record(log, "r2", "text two", subject="subj-b")
    assert reasoning_backlog.forget_subject(engine, "subj-a") == 1
    log.flush()
    assert log.collection.get()["ids"] == ["r2:decision"]


def test_entries_recorded_while_held_are_queued_together_when_the_hold_ends(
    log: ReasoningLog, engine: Engine
) -> None:
    with log.held():
        _record(log, "r1", "first text")
        _record(log, "r2", "second text")
        _record(log, "r1", "first text, again")  # the same entry twice in one hold
        assert reasoning_backlog.count(engine) == 0
    assert reasoning_backlog.count(engine) == 2
    log.flush()
    assert log.collection.get(ids=["r1:decision"])["documents"] == ["first text, again"]


def test_a_hold_that_ends_in_an_error_queues_nothing(log: ReasoningLog, engine: Engine) -> None:
    def failing_batch() -> None:
        with log.held():
            _record(log, "r1", "text")
            raise RuntimeError("the batch failed before its commit")

    with pytest.raises(RuntimeError):
        failing_batch()
    assert reasoning_backlog.count(engine) == 0
    _record(log, "r2", "text")  # no longer held
    assert reasoning_backlog.count(engine) == 1
