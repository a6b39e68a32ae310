"""Runs workers: N threads over one `Services`, plus the review sweeper and retention."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy.engine import Engine

from agents.provisioning.graph import build_batch_graph, build_provisioning_graph
from agents.runtime.retention import apply_retention
from agents.runtime.worker import Worker
from agents.services import Services, open_services
from core import reviews
from core.settings import Settings
from tools.notify.review_webhook import ReviewNotifier

log = logging.getLogger(__name__)


@contextmanager
def open_workers(
    settings: Settings, engine: Engine, *, count: int, chat_model: BaseChatModel | None = None
) -> Iterator[list[Worker]]:
    """Workers sharing one `Services` (one checkpointer, one LMS client: both thread-safe)
    and one compiled graph, all built before the first event is claimed.

    ``chat_model`` stands in for the configured LLM endpoint (tests, evals)."""
    with open_services(settings, engine, chat_model=chat_model) as services:
        yield new_workers(services, count=count)


def new_workers(services: Services, *, count: int) -> list[Worker]:
    """``count`` workers over these services and one compiled graph, every part built
    before the first event is claimed."""
    graph = build_provisioning_graph(services.warm().checkpointer)
    batch = build_batch_graph()
    return [Worker(services=services, graph=graph, batch=batch) for _ in range(count)]


@contextmanager
def running_workers(services: Services, *, count: int) -> Iterator[threading.Event]:
    """Start worker threads; leaving the block stops them after their current event."""
    stop = threading.Event()
    settings, engine = services.settings, services.engine
    threads = [
        threading.Thread(target=w.run_forever, args=(stop,), name=f"worker-{i}", daemon=True)
        for i, w in enumerate(new_workers(services, count=count))
    ]
    threads.append(
        threading.Thread(
            target=_sweep_reviews,
            args=(engine, services.notifier, settings.review_sweep_s, stop),
            name="review-sweeper",
            daemon=True,
        )
    )
    if settings.audit_retention_days is not None:
        threads.append(
            threading.Thread(
                target=_apply_retention,
                args=(engine, services.checkpointer, settings.audit_retention_days, stop),
                name="retention",
                daemon=True,
            )
        )
    for thread in threads:
        thread.start()
    try:
        yield stop
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)


def _sweep_reviews(
    engine: Engine, notifier: ReviewNotifier, every_s: float, stop: threading.Event
) -> None:
    """Overdue reviews are escalated or auto-rejected even when no event arrives."""
    while not stop.wait(every_s):
        try:
            for action in reviews.sweep_overdue(engine):
                notifier.review_overdue(
                    review_id=action.review_id,
                    action=action.action,
                    rules=action.rules,
                    due_at=action.due_at,
                )
        except Exception:  # the database may be restarting: try again next round
            log.exception("review sweep failed")


RETENTION_EVERY_S = 6 * 3600.0


def _apply_retention(
    engine: Engine, checkpointer: BaseCheckpointSaver[str], days: int, stop: threading.Event
) -> None:
    """Checkpoint tables otherwise grow without bound; each purge audits itself."""
    while True:
        try:
            report = apply_retention(engine, checkpointer, older_than_days=days)
            log.info("retention: %s", report)
        except Exception:
            log.exception("retention failed")
        if stop.wait(RETENTION_EVERY_S):
            return
