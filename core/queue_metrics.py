"""Inbox depth and pending reviews as Prometheus gauges, read from the database when scraped.

A gauge kept up to date by the workers would cost a write per event and drift across
processes; a grouped COUNT at scrape time (every 15-60 s) is exact and costs the hot path
nothing. Three small queries per scrape: counts by status (served by the ``status``
index), the oldest open event, and pending reviews with the oldest one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.db import as_utc, utcnow
from core.inbox import OPEN_STATUSES, InboxEvent, InboxStatus
from core.metrics import PREFIX
from core.reviews import Review, ReviewStatus

log = logging.getLogger(__name__)


class QueueCollector(Collector):
    """What is waiting: inbox events by status, the age of the oldest open one, pending
    reviews and the age of the oldest. Aggregates only: no id, no pseudonym."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def describe(self) -> list[GaugeMetricFamily]:
        # without this, registering would call collect() and so query the database once
        return list(self._families())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = self._families()
        try:
            self._fill(*families[:-1])
        except Exception:  # a scrape must still answer when the database does not
            log.warning("queue metrics: the database could not be read", exc_info=True)
            families[-1].add_metric([], 0)
            yield families[-1]
            return
        families[-1].add_metric([], 1)
        yield from families

    def _families(self) -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily(
                f"{PREFIX}_inbox_events",
                "Inbox events by status (pending and processing are the queue).",
                labels=["status"],
            ),
            GaugeMetricFamily(
                f"{PREFIX}_inbox_oldest_open_age_seconds",
                "Seconds since the oldest pending or processing event was received; "
                "0 when the queue is empty.",
            ),
            GaugeMetricFamily(f"{PREFIX}_reviews_pending", "Reviews waiting for a decision."),
            GaugeMetricFamily(
                f"{PREFIX}_reviews_oldest_pending_age_seconds",
                "Seconds since the oldest pending review was opened; 0 when none waits.",
            ),
            GaugeMetricFamily(
                f"{PREFIX}_database_up",
                "1 when this scrape could read the queue from the database, else 0.",
            ),
        )

    def _fill(
        self,
        by_status: GaugeMetricFamily,
        oldest_open: GaugeMetricFamily,
        pending: GaugeMetricFamily,
        oldest_pending: GaugeMetricFamily,
    ) -> None:
        with Session(self._engine) as session:
            counts = dict(
                session.exec(
                    select(InboxEvent.status, func.count()).group_by(col(InboxEvent.status))
                ).all()
            )
            first_open = session.exec(
                select(func.min(InboxEvent.received_at)).where(
                    col(InboxEvent.status).in_(OPEN_STATUSES)
                )
            ).one()
            waiting, first_review = session.exec(
                select(func.count(), func.min(Review.created_at)).where(
                    col(Review.status) == ReviewStatus.pending
                )
            ).one()
        now = utcnow()
        for status in InboxStatus:
            by_status.add_metric([status.value], counts.get(status.value, 0))
        oldest_open.add_metric([], _age(first_open, now))
        pending.add_metric([], waiting)
        oldest_pending.add_metric([], _age(first_review, now))


def _age(moment: datetime | None, now: datetime) -> float:
    return max(0.0, (now - as_utc(moment)).total_seconds()) if moment is not None else 0.0


class _ProcessMetrics(Collector):
    """The process-wide registry's metrics (events, durations, LMS, model), forwarded."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def registry_with_queue(engine: Engine) -> CollectorRegistry:
    """What a /metrics endpoint serves: this process's metrics plus the queue read from
    ``engine``. A registry of its own per app, so that two apps in one process (tests) do
    not register the same names twice in the global one."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ProcessMetrics())
    registry.register(QueueCollector(engine))
    return registry
