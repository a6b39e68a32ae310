"""Assembles workers from settings: one checkpointer, one LMS client, N worker threads."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy.engine import Engine

from agents.policy.rules import load_policy
from agents.provisioning.graph import build_provisioning_graph
from agents.service.checkpointer import open_checkpointer
from agents.service.retention import apply_retention
from agents.service.title_stack import build_title_mapping
from agents.service.worker import Worker
from core import reviews
from core.catalog import load_catalog
from core.settings import Settings
from core.vault import load_keys
from pii.guard import guard_for_catalog
from tools.hris.records import records_from_settings
from tools.lms.catalog_groups import CatalogGroups
from tools.lms.scim import ScimLMS
from tools.mapping.rules import RulesMapper
from tools.mapping.skill_mapping import build_skill_mapping
from tools.notify.review_webhook import ReviewNotifier
from vectorstore.reasoning import reasoning_log

log = logging.getLogger(__name__)


@contextmanager
def open_workers(
    settings: Settings, engine: Engine, *, count: int, chat_model: BaseChatModel | None = None
) -> Iterator[list[Worker]]:
    """Workers sharing one checkpointer and one LMS client (both are thread-safe).

    ``chat_model`` stands in for the configured LLM endpoint (tests, evals)."""
    catalog = load_catalog(settings.catalog_path)
    lms = ScimLMS.from_settings(settings)
    lms_groups = CatalogGroups(lms, catalog)
    with open_checkpointer(settings) as checkpointer:
        graph = build_provisioning_graph(checkpointer)
        mapper = RulesMapper(catalog)
        hris = records_from_settings(settings)
        pii = guard_for_catalog(catalog)
        policy = load_policy(settings.review_policy_path, catalog=catalog)
        reasoning = reasoning_log(settings, firewall=pii.firewall)
        notifier = ReviewNotifier(settings.review_notify_url, base_url=settings.public_base_url)
        titles = build_title_mapping(
            settings, catalog=catalog, firewall=pii.firewall, chat_model=chat_model
        )
        vault_keys = load_keys(settings)
        skills = build_skill_mapping(settings)
        yield [
            Worker(
                engine=engine,
                graph=graph,
                settings=settings,
                catalog=catalog,
                lms=lms,
                lms_groups=lms_groups,
                mapper=mapper,
                titles=titles,
                reasoning=reasoning,
                policy=policy,
                notifier=notifier,
                hris=hris,
                pii=pii,
                vault_keys=vault_keys,
                skills=skills,
            )
            for _ in range(count)
        ]


@contextmanager
def running_workers(settings: Settings, engine: Engine, *, count: int) -> Iterator[threading.Event]:
    """Start worker threads; leaving the block stops them after their current event."""
    stop = threading.Event()
    with open_workers(settings, engine, count=count) as workers:
        threads = [
            threading.Thread(target=w.run_forever, args=(stop,), name=f"worker-{i}", daemon=True)
            for i, w in enumerate(workers)
        ]
        threads.append(
            threading.Thread(
                target=_sweep_reviews,
                args=(engine, workers[0].notifier, settings.review_sweep_s, stop),
                name="review-sweeper",
                daemon=True,
            )
        )
        if settings.audit_retention_days is not None:
            checkpointer = workers[0].graph.checkpointer
            assert isinstance(checkpointer, BaseCheckpointSaver)
            threads.append(
                threading.Thread(
                    target=_apply_retention,
                    args=(engine, checkpointer, settings.audit_retention_days, stop),
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
