"""Intake and provisioning throughput on SQLite and on PostgreSQL.

    .venv/bin/python -m bench.provisioning [--events 300] [--postgres-url URL]

Intake: signed Standard Webhooks deliveries through the ASGI app (signature check, schema,
durable inbox commit) — deliveries/s and p50/p95 latency. Provisioning: inbox -> LangGraph
run -> SCIM writes into the bundled sandbox, one worker thread — events/s and p50/p95 per
event (the time of the batch it ran in). The sandbox (a pure-Python SCIM server in this
process) shares the two cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table
from standardwebhooks.webhooks import Webhook

from agents.runtime.workers import open_workers
from api.app import create_app
from bench.databases import postgres_database
from core import inbox
from core.catalog import load_catalog
from core.db import make_engine
from core.schema import create_tables
from core.settings import Settings
from tools.hris.simulator import simulate_stream, standard_webhook_body
from tools.lms.sandbox import SandboxServer

SECRET = "whsec_" + "QmVuY2htYXJrU2VjcmV0S2V5Rm9yVGFsZW50U3luYw=="
console = Console()


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100)[int(q) - 1] if len(samples) > 1 else samples[0]


def bench_intake(settings: Settings, bodies: list[dict[str, Any]]) -> dict[str, float]:
    signer = Webhook(SECRET)
    latencies: list[float] = []
    with TestClient(create_app(settings)) as client:
        started = time.perf_counter()
        for body in bodies:
            raw = json.dumps(body)
            msg_id = f"msg_{uuid.uuid4().hex}"
            now = datetime.now(UTC)
            headers = {
                "content-type": "application/json",
                "webhook-id": msg_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": signer.sign(msg_id, now, raw),
            }
            t0 = time.perf_counter()
            response = client.post("/webhooks/standard", content=raw, headers=headers)
            latencies.append(time.perf_counter() - t0)
            assert response.status_code == 202, response.text
        elapsed = time.perf_counter() - started
    return {
        "per_s": len(bodies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
    }


def bench_provisioning(settings: Settings, sandbox_url: str) -> dict[str, float]:
    engine = make_engine(settings.database_url)
    create_tables(engine)
    settings = settings.model_copy(update={"lms_url": sandbox_url})
    latencies: list[float] = []
    with open_workers(settings, engine, count=1) as (worker,):
        started = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            events = worker.run_once()
            if not events:
                break
            latencies.extend([time.perf_counter() - t0] * events)  # each: its batch's time
        elapsed = time.perf_counter() - started
    counts = inbox.status_counts(engine)
    engine.dispose()
    return {
        "per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "applied": counts["applied"],
    }


def run(database_url: str, var_dir: str, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    catalog = load_catalog()
    settings = Settings(
        var_dir=Path(var_dir),
        database_url=database_url,
        webhook_secrets_standard=[SecretStr(SECRET)],
    )
    with SandboxServer(catalog) as sandbox:
        intake = bench_intake(settings, bodies)
        provisioning = bench_provisioning(settings, sandbox.base_url)
    return {"intake": intake, "provisioning": provisioning}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    stream = simulate_stream(
        load_catalog(),
        employees=max(10, args.events),
        seed=11,
        start=datetime.now(UTC) - timedelta(days=200),
    )
    events = list({d.event.event_id: d.event for d in stream.deliveries}.values())
    bodies = [standard_webhook_body(e) for e in events[: args.events]]

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = run(f"sqlite:///{tmp}/bench.db", tmp, bodies)
    with tempfile.TemporaryDirectory() as tmp, postgres_database(args.postgres_url) as url:
        results["PostgreSQL"] = run(url, tmp, bodies)

    table = Table(title=f"Intake and provisioning, {len(bodies)} events, this machine")
    for column in ("database", "stage", "per second", "p50 ms", "p95 ms"):
        table.add_column(column)
    for database, stages in results.items():
        for stage, figures in stages.items():
            table.add_row(
                database,
                stage,
                f"{figures['per_s']:.1f}",
                f"{figures['p50_ms']:.1f}",
                f"{figures['p95_ms']:.1f}",
            )
    console.print(table)
    for stage in ("intake", "provisioning"):
        ratio = results["PostgreSQL"][stage]["per_s"] / results["SQLite"][stage]["per_s"]
        console.print(f"{stage}: PostgreSQL / SQLite throughput = {ratio:.2f}")


if __name__ == "__main__":
    main()
