"""Long embedding work reports progress: to a callback (the CLI's bar), or else to the log
at intervals, so a first skills index (30-90 s) is never silent."""

from __future__ import annotations

import logging
import uuid

import chromadb
import pytest

from vectorstore import catalog_index
from vectorstore.catalog_index import CatalogIndex
from vectorstore.embeddings import MiniLMEmbeddingFunction, default_embedder
from vectorstore.progress import logging_progress
from vectorstore.roles import CatalogRole

ROLES = [
    CatalogRole(f"role-{n}", f"Role number {n}", (f"alias {n}",), f"Does task {n}.", "Group")
    for n in range(6)
]


@pytest.fixture
def index() -> CatalogIndex:
    client = chromadb.EphemeralClient()
    return CatalogIndex(
        client, MiniLMEmbeddingFunction(default_embedder()), name=f"p{uuid.uuid4().hex[:8]}"
    )


def test_a_sync_reports_each_step_to_the_callback_and_nothing_when_unchanged(
    index: CatalogIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog_index, "EMBED_CHUNK", 4)
    calls: list[tuple[int, int]] = []

    report = index.sync(ROLES, progress=lambda done, total: calls.append((done, total)))

    total = report.added
    assert total > 8
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert len(calls) == 1 + -(-total // 4)  # the start, then one per step of 4

    calls.clear()
    index.sync(ROLES, progress=lambda done, total: calls.append((done, total)))
    assert calls == []


def test_without_a_callback_a_sync_logs_its_progress(
    index: CatalogIndex, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="vectorstore.catalog_index"):
        report = index.sync(ROLES)
    lines = [r.getMessage() for r in caplog.records if "labels:" in r.getMessage()]
    assert lines[-1].endswith(f"{report.added} of {report.added} (100%)")


def test_logging_progress_logs_at_intervals_and_always_at_the_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("test.progress")
    report = logging_progress(log, "embedding", every_s=3600)
    with caplog.at_level(logging.INFO, logger="test.progress"):
        report(0, 100)  # within the interval of the callback's creation: quiet
        for done in range(10, 101, 10):
            report(done, 100)
    assert [r.getMessage() for r in caplog.records] == ["embedding: 100 of 100 (100%)"]
