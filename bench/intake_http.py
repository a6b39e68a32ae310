"""Webhook intake over real HTTP: `talentsync serve` under `wrk`, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.intake_http [--deliveries 40000] [--connections 8]
        [--duration 10s] [--postgres-url URL] [--api-workers N] [--only sqlite|postgres]

For each database: start `talentsync serve --workers 0` (the API alone, no inbox worker
threads; `--api-workers` as given, else serve's default) on a throwaway database, pre-sign
a pool of distinct Standard Webhooks deliveries (fresh timestamps, so written just before
the run), and let `wrk` replay them from `bench/intake_replay.lua`, one delivery per
request. Then stop the server (it finishes what is in flight) and check the database: every
202 is a row with its `event_received` audit entry, no row came from outside the pool, and
the audit chain verifies. The peer figure is n8n's, measured on this machine (NOTES).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from bench.databases import DEFAULT_POSTGRES_URL, postgres_database
from core import audit
from core.audit import AuditAction
from core.audit.entry import AUDIT_TABLE
from core.catalog import load_catalog
from core.db import make_engine
from core.inbox.enqueue import INBOX_TABLE
from tools.hris.simulator import simulate_stream, standard_webhook_body

SECRET = "whsec_" + "QmVuY2htYXJrU2VjcmV0S2V5Rm9yVGFsZW50U3luYw=="
LUA_SCRIPT = Path(__file__).with_name("intake_replay.lua")
WRK_THREADS = 2  # one per core: wrk's own advice, and more only adds context switches
PEER_N8N = {"name": "n8n 2.8.4, one-node Webhook workflow", "per_s": 110.0, "p99_ms": 115.0}
"""Measured on this machine at 8 connections (/work/shared/NOTES.md, 'Peers and load tools');
quoted, not re-run."""

console = Console(width=max(150, Console().width))


@dataclass(frozen=True)
class Pool:
    path: Path
    ids: frozenset[str]


def distinct_bodies(count: int) -> list[str]:
    """Simulated HRIS events as Standard Webhooks bodies (compact JSON: one line each)."""
    stream = simulate_stream(
        load_catalog(),
        employees=max(10, min(count, 400)),
        seed=11,
        start=datetime.now(UTC) - timedelta(days=200),
    )
    events = list({d.event.event_id: d.event for d in stream.deliveries}.values())
    return [
        json.dumps(standard_webhook_body(event), separators=(",", ":")) for event in events[:count]
    ]


def sign_pool(bodies: list[str], deliveries: int, folder: Path) -> Pool:
    """``deliveries`` signed deliveries, each with its own webhook-id (so each is a distinct
    event to the inbox), cycling through the bodies; signed now, so the timestamps are
    fresh when wrk sends them."""
    signer = Webhook(SECRET)
    now = datetime.now(UTC)
    timestamp = str(int(now.timestamp()))
    ids: list[str] = []
    path = folder / "deliveries.tsv"
    with path.open("w", encoding="utf-8") as pool:
        for index in range(deliveries):
            msg_id = f"msg_{uuid.uuid4().hex}"
            body = bodies[index % len(bodies)]
            signature = signer.sign(msg_id, now, body)
            pool.write(f"{msg_id}\t{timestamp}\t{signature}\t{body}\n")
            ids.append(msg_id)
    return Pool(path=path, ids=frozenset(ids))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[bytes]
    url: str
    command: list[str]
    log_path: Path


@contextmanager
def serving(database_url: str, folder: Path, *, api_workers: int | None) -> Iterator[Server]:
    """`talentsync serve --workers 0` as a child process, until it answers /healthz."""
    port = free_port()
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "0"]
    if api_workers is not None:
        command += ["--api-workers", str(api_workers)]
    env = {
        **os.environ,
        "TALENTSYNC_VAR_DIR": str(folder),
        "TALENTSYNC_DATABASE_URL": database_url,
        "TALENTSYNC_WEBHOOK_SECRETS_STANDARD": SECRET,
    }
    log_path = folder / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}", command, log_path)
    try:
        wait_until_up(server)
        yield server
    finally:
        stop(process)


def wait_until_up(server: Server, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"serve exited early:\n{server.log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"serve did not answer within {timeout_s:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a person would: uvicorn finishes the requests in flight, then exits."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (uvicorn's API workers are its children)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, frontier = [pid], [pid]
    while frontier:
        children = parents.get(frontier.pop(), [])
        tree += children
        frontier += children
    return tree


def rss_mb(pid: int) -> float:
    """Resident set size from /proc (psutil is not a dependency)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used (from /proc/<pid>/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def run_wrk(url: str, pool: Pool, *, connections: int, duration: str) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    threads = min(WRK_THREADS, connections)
    command = [
        wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}", "--latency",
        "-s", str(LUA_SCRIPT), url, "--", str(pool.path), str(threads),
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    for line in finished.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            result: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
            return result
    raise RuntimeError(f"wrk printed no result:\n{finished.stdout}\n{finished.stderr}")


def check_inbox(database_url: str, pool: Pool, wrk: dict[str, Any], connections: int) -> str:
    """Nothing lost and nothing invented: every 202 is a row, every row came from the pool
    and has its receipt in the audit trail, and the chain verifies. Up to one request per
    connection may have been committed after wrk stopped counting (in flight at the end)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            event_ids = set(connection.execute(select(INBOX_TABLE.c.event_id)).scalars())
            receipts = connection.execute(
                select(func.count())
                .select_from(AUDIT_TABLE)
                .where(AUDIT_TABLE.c.action == AuditAction.event_received.value)
            ).scalar_one()
        chain = audit.verify(engine)
    finally:
        engine.dispose()
    rows, accepted = len(event_ids), wrk["accepted"]
    problems = []
    if not accepted <= rows <= accepted + connections:
        problems.append(f"{rows} rows for {accepted} answers 202")
    if strangers := len(event_ids - pool.ids):
        problems.append(f"{strangers} rows not from the pool")
    if receipts != rows:
        problems.append(f"{receipts} event_received audit entries for {rows} rows")
    if not chain.ok:
        problems.append(f"audit chain broken at {chain.first_broken_seq}: {chain.problem}")
    if problems:
        raise SystemExit("inbox check failed: " + "; ".join(problems))
    return f"{rows} rows = {accepted} x 202 + {rows - accepted} in flight at the end; chain ok"


def measure(
    label: str,
    database_url: str,
    folder: Path,
    bodies: list[str],
    args: argparse.Namespace,
) -> dict[str, Any]:
    with serving(database_url, folder, api_workers=args.api_workers) as server:
        tree = process_tree(server.process.pid)
        rss_idle = sum(rss_mb(pid) for pid in tree)
        pool = sign_pool(bodies, args.deliveries, folder)
        load_before, cpu_before = os.getloadavg()[0], cpu_seconds(tree)
        wrk = run_wrk(server.url, pool, connections=args.connections, duration=args.duration)
        load_after, cpu_used = os.getloadavg()[0], cpu_seconds(tree) - cpu_before
        rss = [rss_mb(pid) for pid in process_tree(server.process.pid)]
        console.print(f"[dim]{label}: {' '.join(server.command[1:])}[/dim]")
        started = [line for line in server.log_path.read_text().splitlines() if "serve:" in line]
        for line in started[:2]:
            console.print(f"[dim]  {line.strip()}[/dim]")
    verdict = check_inbox(database_url, pool, wrk, args.connections)
    seconds = wrk["duration_us"] / 1e6
    if wrk["pool_exhausted"]:
        console.print(f"[yellow]{label}: pool exhausted, raise --deliveries[/yellow]")
    return {
        "per_s": wrk["accepted"] / seconds,
        "p50_ms": wrk["latency_us"]["50"] / 1000,
        "p99_ms": wrk["latency_us"]["99"] / 1000,
        "max_ms": wrk["latency_max_us"] / 1000,
        "accepted": wrk["accepted"],
        "non_2xx": wrk["refused"],
        "socket_errors": sum(v for k, v in wrk["errors"].items() if k != "status"),
        "cpu_ms": cpu_used * 1000 / max(1, wrk["requests"]),
        "rss_mb": sum(rss),
        "rss_detail": " + ".join(f"{mb:.0f}" for mb in rss),
        "rss_idle_mb": rss_idle,
        "load": f"{load_before:.2f} -> {load_after:.2f}",
        "verdict": verdict,
    }


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    table = Table(
        title=f"Signed webhook intake over HTTP: wrk, {args.connections} connections, "
        f"{args.duration}, this machine ({os.cpu_count()} cores)"
    )
    for column in (
        "database", "deliveries/s", "p50 ms", "p99 ms", "max ms", "202s", "non-2xx",
        "socket errors", "serve CPU ms/delivery", "serve RSS MB (per process)", "load 1 min",
        "x n8n",
    ):  # fmt: skip
        table.add_column(column, justify="left" if column == "database" else "right")
    for database, figures in results.items():
        table.add_row(
            database,
            f"{figures['per_s']:,.0f}",
            f"{figures['p50_ms']:.1f}",
            f"{figures['p99_ms']:.1f}",
            f"{figures['max_ms']:.0f}",
            f"{figures['accepted']:,}",
            str(figures["non_2xx"]),
            str(figures["socket_errors"]),
            f"{figures['cpu_ms']:.2f}",
            f"{figures['rss_mb']:.0f} ({figures['rss_detail']})",
            figures["load"],
            f"{figures['per_s'] / PEER_N8N['per_s']:.1f}x",
        )
    table.add_row(
        "n8n (peer)", f"{PEER_N8N['per_s']:.0f}", "", f"{PEER_N8N['p99_ms']:.0f}", *[""] * 8
    )
    console.print(table)
    console.print(
        f"Peer: {PEER_N8N['name']}, measured on this machine at 8 connections "
        "(NOTES, 'Peers and load tools'); quoted, not re-run."
    )
    for database, figures in results.items():
        console.print(f"{database}: {figures['verdict']}; idle RSS {figures['rss_idle_mb']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=40_000, help="pre-signed pool size")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", default="10s", help="wrk's -d, e.g. 10s")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument(
        "--api-workers", type=int, default=None, help="serve's --api-workers (default: serve's)"
    )
    parser.add_argument("--only", choices=("sqlite", "postgres"), default=None)
    args = parser.parse_args()
    bodies = distinct_bodies(2000)
    results: dict[str, dict[str, Any]] = {}
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            results["SQLite"] = measure("SQLite", url, Path(tmp), bodies, args)
    if args.only in (None, "postgres"):
        with tempfile.TemporaryDirectory() as tmp, postgres_database(args.postgres_url) as url:
            results["PostgreSQL"] = measure("PostgreSQL", url, Path(tmp), bodies, args)
    report(results, args)


if __name__ == "__main__":
    main()
