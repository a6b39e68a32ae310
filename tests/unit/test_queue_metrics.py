"""The queue gauges, read from the database at scrape time, and the worker's probe port."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from agents.runtime.liveness import Heartbeats
from agents.runtime.probes import serving_probes
from core import inbox, reviews
from core.db import make_engine
from core.queue_metrics import registry_with_queue
from core.schema import create_tables
from tests.factories import make_event


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path}/q.db")
    create_tables(engine)
    yield engine
    engine.dispose()


def _scrape(engine: Engine) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry_with_queue(engine)).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_an_empty_queue_reads_as_zeros(sqlite_engine: Engine) -> None:
    samples = _scrape(sqlite_engine)
    assert samples[("talentsync_database_up", ())] == 1
    assert samples[("talentsync_inbox_events", (("status", "pending"),))] == 0
    assert samples[("talentsync_inbox_oldest_open_age_seconds", ())] == 0
    assert samples[("talentsync_reviews_pending", ())] == 0
    assert samples[("talentsync_reviews_oldest_pending_age_seconds", ())] == 0
    # the process-wide counters come along, every outcome present from the start
    assert ("talentsync_events_processed_total", (("outcome", "dead"),)) in samples


def test_queued_events_and_pending_reviews_are_counted(sqlite_engine: Engine) -> None:
    for _ in range(3):
        inbox.enqueue(sqlite_engine, event=make_event())
    event = make_event()
    row, _ = inbox.enqueue(sqlite_engine, event=event)
    claim = inbox.claim_next(sqlite_engine, worker_id="w", lease_s=60)
    assert claim is not None
    reviews.open_review(
        sqlite_engine,
        receipt_id=row.id,
        interrupt_id="i1",
        subject="sub",
        event_type=event.type.value,
        occurred_at=event.occurred_at,
        request={},
        rules=["promotion"],
        required_approvals=1,
        due_in=timedelta(hours=1),
        confidence=None,
        flags=[],
    )
    samples = _scrape(sqlite_engine)
    assert samples[("talentsync_inbox_events", (("status", "pending"),))] == 3
    assert samples[("talentsync_inbox_events", (("status", "processing"),))] == 1
    assert samples[("talentsync_inbox_events", (("status", "applied"),))] == 0
    assert samples[("talentsync_inbox_oldest_open_age_seconds", ())] > 0
    assert samples[("talentsync_reviews_pending", ())] == 1
    assert samples[("talentsync_reviews_oldest_pending_age_seconds", ())] > 0


def test_an_unreachable_database_still_answers_the_scrape() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:1/nowhere")  # nothing listens on 1
    samples = _scrape(engine)
    assert samples[("talentsync_database_up", ())] == 0
    assert not any(name == "talentsync_inbox_events" for name, _ in samples)


def test_the_worker_probe_port_serves_liveness_and_metrics() -> None:
    beats = Heartbeats()
    with serving_probes("127.0.0.1", 0, max_age_s=3600, heartbeats=beats) as server:
        base = f"http://127.0.0.1:{server.server_port}"
        idle = httpx.get(f"{base}/livez")
        assert idle.status_code == 200 and idle.json()["worker_threads"] == 0
        beats.beat("w1")
        alive = httpx.get(f"{base}/livez").json()
        assert alive["status"] == "ok" and alive["worker_threads"] == 1
        metrics = httpx.get(f"{base}/metrics")
        assert metrics.status_code == 200
        assert "talentsync_events_processed_total" in metrics.text
        assert httpx.get(f"{base}/other").status_code == 404


def test_a_worker_that_stopped_beating_fails_its_liveness() -> None:
    beats = Heartbeats()
    beats.beat("w1")
    time.sleep(0.01)
    with serving_probes("127.0.0.1", 0, max_age_s=0.001, heartbeats=beats) as server:
        stalled = httpx.get(f"http://127.0.0.1:{server.server_port}/livez")
    assert stalled.status_code == 503
    assert stalled.json()["status"] == "stalled"
    beats.forget("w1")
    assert beats.oldest_age_s() is None
