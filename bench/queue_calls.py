"""Microseconds per call of the inbox queue's per-event database work, on SQLite and on
PostgreSQL: what one worker does around each event besides running it (claim, staleness
checks, manager lookups, supersede, complete with an audit entry).

    .venv/bin/python -m bench.queue_calls [--events 300] [--postgres-url URL]

No graph, no LMS, one thread: the figures are the queue's own cost per event (Python
building statements plus the database round trips), so they show what a change to
``core.inbox`` buys without the noise of a whole run. Compare before/after back to back.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, TypeVar

from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import Engine

from bench.databases import DEFAULT_POSTGRES_URL, postgres_database
from core import inbox, reviews
from core.audit import ActorKind, AuditAction, AuditEntryCreate
from core.catalog import load_catalog
from core.db import make_engine
from core.employee import HRISEvent
from core.inbox import Arrival, InboxStatus
from core.schema import create_tables
from tools.hris.simulator import simulate_stream

T = TypeVar("T")
P = ParamSpec("P")
log = logging.getLogger(__name__)
console = Console()


class Timings:
    """Total wall-clock and CPU seconds (this thread's: Python and SQLite's C code, not the
    PostgreSQL server's) and calls per function name. CPU time is the figure that holds up
    on a busy machine; wall-clock adds the waits (disk, server, other processes)."""

    def __init__(self) -> None:
        self.wall: defaultdict[str, float] = defaultdict(float)
        self.cpu: defaultdict[str, float] = defaultdict(float)
        self.calls: defaultdict[str, int] = defaultdict(int)

    def time(self, name: str, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        wall, cpu = time.perf_counter(), time.thread_time()
        result = call(*args, **kwargs)
        self.cpu[name] += time.thread_time() - cpu
        self.wall[name] += time.perf_counter() - wall
        self.calls[name] += 1
        return result

    def us_per_call(self) -> dict[str, tuple[float, float]]:
        """(wall, CPU) microseconds per call."""
        return {
            name: (
                self.wall[name] / self.calls[name] * 1e6,
                self.cpu[name] / self.calls[name] * 1e6,
            )
            for name in self.wall
        }


def events(count: int) -> list[HRISEvent]:
    stream = simulate_stream(
        load_catalog(),
        employees=max(10, count),
        seed=11,
        start=datetime.now(UTC) - timedelta(days=200),
    )
    return list({d.event.event_id: d.event for d in stream.deliveries}.values())[:count]


def audit_entry(claim: inbox.Claim) -> AuditEntryCreate:
    return AuditEntryCreate(
        event_id=claim.event.event_id,
        receipt_id=claim.receipt_id,
        actor="agent:provisioning",
        actor_kind=ActorKind.agent,
        action=AuditAction.decision_made,
        provenance={"rules_fired": ["bench"]},
    )


def run(engine: Engine, stream: list[HRISEvent]) -> Timings:
    inbox.enqueue_many(engine, [Arrival(e, inbox.new_receipt_id()) for e in stream])
    timings = Timings()
    while True:
        claim = timings.time("claim_next", inbox.claim_next, engine, worker_id="b", lease_s=60)
        if claim is None:
            break
        employee, external_id = claim.event.employee, claim.event.employee_external_id
        timings.time("is_stale", inbox.is_stale, engine, claim=claim)
        timings.time(
            "newer_waiting_for_review", inbox.newer_waiting_for_review, engine, claim=claim
        )
        timings.time(
            "supersede_pending",
            reviews.supersede_pending,
            engine,
            subject=external_id,
            occurred_before=claim.event.occurred_at,
            by_receipt=claim.receipt_id,
        )
        timings.time("latest_snapshot", inbox.latest_snapshot, engine, external_id=external_id)
        manages = timings.time(
            "manages_others", inbox.manages_others, engine, external_id=external_id
        )
        if employee is not None:
            timings.time("manager_names", inbox.manager_names, engine, employee)
        timings.time(
            "complete",
            inbox.complete,
            engine,
            claim=claim,
            status=InboxStatus.applied,
            outcome={"bench": True},
            employee=employee,
            mapped_as_manager=manages,
            audit_entries=[audit_entry(claim)],
        )
    applied = inbox.status_counts(engine)["applied"]  # manager refreshes come on top
    if applied < len(stream):
        raise RuntimeError(f"applied {applied} of {len(stream)}")
    return timings


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{tmp}/bench.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args()
    stream = events(args.events)
    results: dict[str, dict[str, tuple[float, float]]] = {}
    for database, url_of in (("SQLite", sqlite_url), ("PostgreSQL", None)):
        with url_of() if url_of else postgres_database(args.postgres_url) as url:
            engine = make_engine(url)
            create_tables(engine)
            try:
                results[database] = run(engine, stream).us_per_call()
            finally:
                engine.dispose()
    table = Table(title=f"Inbox queue, µs per call (wall / CPU), {len(stream)} events")
    table.add_column("function")
    for database in results:
        table.add_column(database, justify="right")
    for name in results["SQLite"]:
        cells = (results[db].get(name, (0.0, 0.0)) for db in results)
        table.add_row(name, *(f"{wall:.0f} / {cpu:.0f}" for wall, cpu in cells))
    console.print(table)


if __name__ == "__main__":
    main()
