"""Audit trail on SQLite: one employee's full history, and verifying the whole chain.

    .venv/bin/python -m bench.audit [--entries 100000] [--employees 5000] [--samples 200]

A fresh SQLite database (WAL, as the service runs it) is filled with ``--entries`` entries
spread over ``--employees`` pseudonymous employees, with realistic scrubbed provenance.
Measured: the fill rate (bulk, as a backfill would append) and single appends (one
transaction each, as the worker does); p50/p95 latency of one employee's complete history
(``query`` on subject, keyset pages of 1,000) for ``--samples`` random employees, target
p95 <= 50 ms; and ``verify`` over the whole chain in entries/s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from core import audit
from core.audit import ActorKind, AuditAction, AuditEntryCreate, AuditFilter
from core.db import make_engine
from core.schema import create_tables
from core.vault import pseudonym

console = Console(width=120)
FILL_BATCH = 5000
SINGLE_APPENDS = 300
TARGET_P95_MS = 50.0


def _entry(rng: random.Random, n: int, subjects: list[str]) -> AuditEntryCreate:
    action = rng.choice(list(AuditAction)[:6])
    confidence = round(rng.random(), 3)
    return AuditEntryCreate(
        event_id=f"evt_{n:08d}",
        receipt_id=f"rcpt_{rng.getrandbits(128):032x}",
        subject=rng.choice(subjects),
        actor="reviewer:ana" if action == AuditAction.review_decided else "agent:provisioning",
        actor_kind=ActorKind.reviewer if action == AuditAction.review_decided else ActorKind.agent,
        action=action,
        rule=rng.choice(["dept:engineering", "loc:berlin", "title:embedded", "manager"]),
        confidence=confidence,
        before={"groups": ["all-staff", "dept-eng"], "role": "15-1252.00"},
        after={"groups": ["all-staff", "dept-eng", "cur-security"], "role": "15-1252.00"},
        provenance={
            "rules_fired": ["R1", "R4", "R7"],
            "model": "embedded:minilm-int8",
            "prompt": "title_mapping@1#4f2a9c1e",
            "catalog_version": "2026.03",
            "confidence": confidence,
            "rationale": "<PERSON_1>'s title matches the developer role family",
            "evidence": [f"ev_{rng.getrandbits(32):08x}" for _ in range(3)],
            "memory_hit": rng.random() < 0.3,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="audit trail query and verify speed")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--employees", type=int, default=5_000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)
    secret = rng.randbytes(32)
    subjects = [pseudonym(f"E{10000 + i}", secret=secret) for i in range(args.employees)]

    with tempfile.TemporaryDirectory() as directory:
        engine = make_engine(f"sqlite:///{Path(directory) / 'audit.db'}")
        create_tables(engine)

        started = time.perf_counter()
        for start in range(0, args.entries, FILL_BATCH):
            count = min(FILL_BATCH, args.entries - start)
            batch = [_entry(rng, start + i, subjects) for i in range(count)]
            audit.append_many(engine, entries=batch)
        fill_s = time.perf_counter() - started

        started = time.perf_counter()
        for i in range(SINGLE_APPENDS):
            audit.append(engine, entry=_entry(rng, args.entries + i, subjects))
        single_ms = (time.perf_counter() - started) * 1000 / SINGLE_APPENDS
        total = args.entries + SINGLE_APPENDS

        timings, sizes = [], []
        sample = rng.sample(subjects, min(args.samples, len(subjects)))
        for subject in sample[:10]:  # warm-up: page cache and statement cache
            audit.query(engine, where=AuditFilter(subject=subject), limit=1000)
        for subject in sample:
            began = time.perf_counter()
            history = [
                row
                for page in audit.iter_query(engine, where=AuditFilter(subject=subject))
                for row in page
            ]
            timings.append((time.perf_counter() - began) * 1000)
            sizes.append(len(history))
        timings.sort()
        p50 = statistics.median(timings)
        p95 = timings[int(0.95 * (len(timings) - 1))]

        started = time.perf_counter()
        report = audit.verify(engine)
        verify_s = time.perf_counter() - started
        engine.dispose()
        size_mb = (Path(directory) / "audit.db").stat().st_size / 1e6

    table = Table(title=f"audit trail on SQLite: {total:,} entries, {args.employees:,} employees")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("bulk fill", f"{args.entries / fill_s:,.0f} entries/s ({fill_s:.1f} s)")
    table.add_row("single append (own transaction)", f"{single_ms:.2f} ms")
    table.add_row(
        f"one employee's history ({statistics.mean(sizes):.0f} entries avg), p50",
        f"{p50:.2f} ms",
    )
    verdict = "ok" if p95 <= TARGET_P95_MS else f"over the {TARGET_P95_MS:.0f} ms target"
    table.add_row(f"  p95 over {len(sample)} employees", f"{p95:.2f} ms ({verdict})")
    table.add_row(
        "verify whole chain",
        f"{report.checked / verify_s:,.0f} entries/s ({verify_s:.1f} s, ok={report.ok})",
    )
    table.add_row("database file", f"{size_mb:.0f} MB")
    console.print(table)


if __name__ == "__main__":
    main()
