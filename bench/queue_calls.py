"""Microseconds per event of the inbox queue's per-event database work, on SQLite and on
PostgreSQL: what one worker does around each event besides running it (claim, staleness
checks, manager lookups, supersede, complete with an audit entry), one event at a time
and, as a batch lane would, for batches of 8 and 32 claims (``--batches``).

    .venv/bin/python -m bench.queue_calls [--events 300] [--batches 8 32] [--postgres-url URL]

No graph, no LMS, one thread: the figures are the queue's own cost per event (Python
building statements plus the database round trips), so they show what a change to
``core.inbox`` buys without the noise of a whole run. Compare before/after back to back.
The "lane" row adds up what the worker calls per event: the single calls, or their
batched versions.
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
console = Console(width=150)  # seven columns: wider than a terminal's default


LANE_SINGLE = (
    "claim_next",
    "overtaken_many",
    "supersede_pending",
    "manages_others",
    "manager_names",
    "complete",
)
"""What the worker calls per event today (`overtaken_many` with one claim is its
staleness check: `is_stale` and `newer_waiting_for_review` are shown for comparison)."""
LANE_BATCH = (
    "claim_many",
    "overtaken_many",
    "supersede_pending_many",
    "manages_others_many",
    "manager_names_many",
    "complete_many",
)


class Timings:
    """Total wall-clock and CPU seconds (this thread's: Python and SQLite's C code, not the
    PostgreSQL server's) per function name, and the events they served. CPU time is the
    figure that holds up on a busy machine; wall-clock adds the waits (disk, server, other
    processes)."""

    def __init__(self) -> None:
        self.wall: defaultdict[str, float] = defaultdict(float)
        self.cpu: defaultdict[str, float] = defaultdict(float)
        self.events = 0

    def time(self, name: str, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        wall, cpu = time.perf_counter(), time.thread_time()
        result = call(*args, **kwargs)
        self.cpu[name] += time.thread_time() - cpu
        self.wall[name] += time.perf_counter() - wall
        return result

    def us_per_event(self, lane: tuple[str, ...]) -> dict[str, tuple[float, float]]:
        """(wall, CPU) microseconds per event, and their sum over ``lane`` as "lane"."""
        figures = {
            name: (self.wall[name] / self.events * 1e6, self.cpu[name] / self.events * 1e6)
            for name in self.wall
        }
        figures["lane"] = (
            sum(figures[name][0] for name in lane if name in figures),
            sum(figures[name][1] for name in lane if name in figures),
        )
        return figures


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
    """One event at a time, as the worker runs today."""
    inbox.enqueue_many(engine, [Arrival(e, inbox.new_receipt_id()) for e in stream])
    timings = Timings()
    while True:
        claim = timings.time("claim_next", inbox.claim_next, engine, worker_id="b", lease_s=60)
        if claim is None:
            break
        timings.events += 1
        employee, external_id = claim.event.employee, claim.event.employee_external_id
        timings.time("is_stale", inbox.is_stale, engine, claim=claim)
        timings.time(
            "newer_waiting_for_review", inbox.newer_waiting_for_review, engine, claim=claim
        )
        timings.time("overtaken_many", inbox.overtaken_many, engine, claims=[claim])
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
    _check(engine, stream)
    return timings


def run_batched(engine: Engine, stream: list[HRISEvent], size: int) -> Timings:
    """Claims ``size`` at a time (one per employee), and each call for the whole batch."""
    inbox.enqueue_many(engine, [Arrival(e, inbox.new_receipt_id()) for e in stream])
    timings = Timings()
    while True:
        claims = timings.time(
            "claim_many", inbox.claim_many, engine, worker_id="b", lease_s=60, limit=size
        )
        if not claims:
            break
        timings.events += len(claims)
        timings.time("overtaken_many", inbox.overtaken_many, engine, claims=claims)
        timings.time(
            "supersede_pending_many",
            reviews.supersede_pending_many,
            engine,
            items=[
                (c.event.employee_external_id, c.event.occurred_at, c.receipt_id) for c in claims
            ],
        )
        managing = timings.time(
            "manages_others_many",
            inbox.manages_others_many,
            engine,
            external_ids=[c.event.employee_external_id for c in claims],
        )
        employees = [c.event.employee for c in claims if c.event.employee is not None]
        timings.time("manager_names_many", inbox.manager_names_many, engine, employees)
        completions = [
            inbox.Completion(
                claim=c,
                status=InboxStatus.applied,
                outcome={"bench": True},
                employee=c.event.employee,
                mapped_as_manager=c.event.employee_external_id in managing,
                audit_entries=[audit_entry(c)],
            )
            for c in claims
        ]
        lost = timings.time("complete_many", inbox.complete_many, engine, completions=completions)
        if lost:
            raise RuntimeError(f"lost {len(lost)} leases")
    _check(engine, stream)
    return timings


def _check(engine: Engine, stream: list[HRISEvent]) -> None:
    applied = inbox.status_counts(engine)["applied"]  # manager refreshes come on top
    if applied < len(stream):
        raise RuntimeError(f"applied {applied} of {len(stream)}")


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{tmp}/bench.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--batches", type=int, nargs="*", default=[8, 32])
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args()
    stream = events(args.events)
    columns: dict[str, dict[str, tuple[float, float]]] = {}
    for database, url_of in (("SQLite", sqlite_url), ("PostgreSQL", None)):
        for size in (1, *args.batches):
            with url_of() if url_of else postgres_database(args.postgres_url) as url:
                engine = make_engine(url)
                create_tables(engine)
                try:
                    if size == 1:
                        figures = run(engine, stream).us_per_event(LANE_SINGLE)
                    else:
                        figures = run_batched(engine, stream, size).us_per_event(LANE_BATCH)
                finally:
                    engine.dispose()
            columns[database if size == 1 else f"{database} by {size}"] = figures
    table = Table(title=f"Inbox queue, µs per event (wall / CPU), {len(stream)} events")
    table.add_column("function")
    for column in columns:
        table.add_column(column, justify="right")
    names = list(dict.fromkeys(name for figures in columns.values() for name in figures))
    names.append(names.pop(names.index("lane")))
    for name in names:
        cells = (figures.get(name) for figures in columns.values())
        table.add_row(name, *("-" if c is None else f"{c[0]:.0f} / {c[1]:.0f}" for c in cells))
    console.print(table)


if __name__ == "__main__":
    main()
