"""End to end through the running service: signed webhook in -> LMS written -> audit.

    python -m bench.e2e_http [--events 300] [--worker-processes 1,2,4]
                             [--postgres-url URL] [--sqlite] [--senders 4]

Every part is its own process, as deployed (``bench/cluster.py``): the LMS sandbox, a Chroma
server, ``talentsync serve`` with no inbox workers and N ``talentsync worker`` processes on
PostgreSQL, one run per N; with ``--sqlite`` also ``serve`` alone with its default workers
on SQLite (the single-process mode). The events are a simulated HRIS stream's hires, moves,
leavers and rehires (duplicates and late arrivals included) whose titles the catalog rules
place, so no AI step runs; nothing waits for review (a policy without rules).

Measured from the first send to the inbox drained: events/s (distinct events finished,
applied or stale, per second), event-to-LMS latency p50/p95 per applied event (the inbox
row's ``received_at`` to ``finished_at``: the LMS is written and the audit entry committed
by then), the machine's load and CPU use over the run, and the RSS and CPU time of serve
and of each worker.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlmodel import Session, select

from agents.provisioning.title_decision import needs_role
from bench.cluster import Cluster, ClusterConfig, Process
from bench.databases import postgres_database
from bench.webhook_sender import send_stream
from core import inbox
from core.catalog import load_catalog
from core.db import as_utc, make_engine
from core.employee import EmploymentStatus
from core.inbox import InboxEvent, InboxStatus
from tools.hris.simulator import simulate_stream
from tools.hris.simulator.delivery import Delivery
from tools.mapping.rules import RulesMapper

console = Console(width=160)  # the table is wide; a pipe would get 80 columns
EVENTS_PER_EMPLOYEE = 1.55  # what the simulator's 26 weeks of HR life give on average
DRAIN_TIMEOUT_S = 3600.0


@dataclass
class Result:
    layout: str
    events: int = 0
    applied: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    intake_per_s: float = 0.0
    load: tuple[float, float, float] = (0.0, 0.0, 0.0)
    machine_cpu: float = 0.0  # share of all cores busy over the run (every process on it)
    rss_mib: dict[str, float] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)

    @property
    def per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def rule_placed_stream(events: int, seed: int) -> list[Delivery]:
    """The deliveries of a simulated stream of about ``events`` events, keeping only events
    the catalog rules place on their own (a leaver needs no role)."""
    catalog = load_catalog()
    stream = simulate_stream(
        catalog,
        employees=max(2, round(events / EVENTS_PER_EMPLOYEE)),
        seed=seed,
        start=datetime.now(UTC) - timedelta(days=200),
    )
    rules = RulesMapper(catalog)

    def placed(delivery: Delivery) -> bool:
        employee = delivery.event.employee
        if employee is None or employee.employment_status == EmploymentStatus.inactive:
            return True
        return not needs_role(rules.map(employee, manages_others=False))

    return [d for d in stream.deliveries if placed(d)]


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def _percentile(samples: Sequence[float], q: int) -> float:
    if len(samples) < 2:
        return samples[0] if samples else 0.0
    return statistics.quantiles(samples, n=100)[q - 1]


def measure(layout: str, config: ClusterConfig, deliveries: list[Delivery], senders: int) -> Result:
    result = Result(layout)
    distinct = {d.event.event_id for d in deliveries}
    with Cluster(config) as cluster:
        engine = make_engine(config.database_url)
        # every process of the layout, the LMS sandbox and the Chroma server included: they
        # share the same two cores, so their CPU per event counts as much as the worker's
        services: list[Process] = list(cluster.processes)
        cpu_before = {p.name: p.cpu_s() or 0.0 for p in services}
        busy_before = _busy_jiffies()
        sent = send_stream(
            deliveries, api_url=cluster.api_url, secret=cluster.webhook_secret, senders=senders
        )
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while inbox.open_count(engine) and time.monotonic() < deadline:
            cluster.check_alive()
            time.sleep(0.1)
        busy_after = _busy_jiffies()
        result.load = os.getloadavg()
        result.machine_cpu = (busy_after[0] - busy_before[0]) / max(
            1, busy_after[1] - busy_before[1]
        )
        for process in services:
            result.rss_mib[process.name] = process.peak_rss_mib() or 0.0
            result.cpu_s[process.name] = (process.cpu_s() or 0.0) - cpu_before[process.name]
        with Session(engine) as session:
            rows = [r for r in session.exec(select(InboxEvent)) if r.event_id in distinct]
        engine.dispose()
    finished = [r for r in rows if r.finished_at is not None]
    applied = [r for r in finished if r.status == InboxStatus.applied]
    last = max((as_utc(r.finished_at) for r in finished if r.finished_at), default=None)
    result.events, result.applied = len(finished), len(applied)
    result.seconds = (last - sent.started_at).total_seconds() if last else 0.0
    latencies = [
        (as_utc(r.finished_at) - as_utc(r.received_at)).total_seconds() * 1000
        for r in applied
        if r.finished_at is not None
    ]
    result.p50_ms, result.p95_ms = _percentile(latencies, 50), _percentile(latencies, 95)
    result.intake_per_s = len(deliveries) / sent.seconds if sent.seconds else 0.0
    if len(finished) < len(distinct):
        console.print(f"[red]{layout}: {len(distinct) - len(finished)} events not finished")
    return result


@contextmanager
def _var_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="talentsync-e2e-") as tmp:
        yield Path(tmp)


def run(args: argparse.Namespace) -> list[Result]:
    deliveries = rule_placed_stream(args.events, args.seed)
    console.print(
        f"{len({d.event.event_id for d in deliveries})} events, {len(deliveries)} deliveries "
        f"(duplicates and late arrivals), {args.senders} concurrent senders, "
        f"{args.lms_users} users already in the LMS"
    )
    results: list[Result] = []
    if args.sqlite:
        with _var_dir() as var:
            config = ClusterConfig(
                database_url=f"sqlite:///{var}/talentsync.db",
                var_dir=var,
                worker_processes=0,
                serve_workers=None,
                chroma=False,
                lms_users=args.lms_users,
            )
            results.append(
                measure("SQLite: serve + its default workers", config, deliveries, args.senders)
            )
            console.print(_table(results[-1:]))
    for count in args.worker_processes:
        with _var_dir() as var, postgres_database(args.postgres_url) as url:
            config = ClusterConfig(
                database_url=url,
                var_dir=var,
                worker_processes=count,
                worker_threads=args.worker_threads,
                lms_users=args.lms_users,
            )
            layout = f"PostgreSQL: serve (API) + {count} worker{'s' * (count > 1)}"
            results.append(measure(layout, config, deliveries, args.senders))
            console.print(_table(results[-1:]))
    return results


def _table(results: Sequence[Result]) -> Table:
    table = Table(title="End to end over HTTP (signed webhook -> LMS -> audit), this machine")
    for column in (
        "layout",
        "events",
        "events/s",
        "p50 ms",
        "p95 ms",
        "intake/s",
        "load 1/5 min",
        "CPU busy",
        "peak RSS MiB",
        "CPU ms per event",
    ):
        table.add_column(column)
    for r in results:
        table.add_row(
            r.layout,
            f"{r.events} ({r.applied} applied)",
            f"{r.per_s:.1f}",
            f"{r.p50_ms:.0f}",
            f"{r.p95_ms:.0f}",
            f"{r.intake_per_s:.0f}",
            f"{r.load[0]:.1f} / {r.load[1]:.1f}",
            f"{r.machine_cpu:.0%}",
            "\n".join(f"{name} {mib:.0f}" for name, mib in r.rss_mib.items()),
            "\n".join(f"{name} {1000 * s / max(1, r.events):.0f}" for name, s in r.cpu_s.items()),
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--events", type=int, default=300, help="about this many events")
    parser.add_argument(
        "--worker-processes",
        type=lambda text: [int(n) for n in text.split(",") if n],
        default=[1, 2, 4],
        help="comma-separated: one PostgreSQL run per count (empty: none)",
    )
    parser.add_argument("--worker-threads", type=int, default=1, help="threads per worker")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sqlite", action="store_true", help="also serve alone on SQLite")
    parser.add_argument("--senders", type=int, default=4, help="concurrent webhook senders")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--lms-users",
        type=int,
        default=0,
        help="users the LMS already holds in full groups (a customer's LMS is never empty)",
    )
    args = parser.parse_args()
    results = run(args)
    console.print(_table(results))
    scaled = [r for r in results if r.layout.startswith("PostgreSQL")]
    if len(scaled) > 1 and scaled[0].per_s:
        ratios = ", ".join(f"{r.per_s / scaled[0].per_s:.2f}x" for r in scaled)
        console.print(f"PostgreSQL events/s relative to the first layout: {ratios}")


if __name__ == "__main__":
    main()
