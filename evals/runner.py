"""Run a suite, attach intervals and provenance, and store the run so it can be reproduced.

A run directory (default ``var/evals/<run_id>/``) holds ``summary.json`` (metrics, intervals,
counts, the options, dataset sha256, prompt ref with hash, model, git commit, duration) and
``examples.jsonl`` (one record per example). `compare`, `report` and the gate read only
these files, so a run from last week compares with one from today.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import secrets
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from evals.metrics import (
    BOOTSTRAP_RESAMPLES,
    Interval,
    bootstrap_interval,
    paired_bootstrap_delta,
)
from evals.suites import Progress, Record, RunOptions, get_suite

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RUNS_DIR = REPO / "var" / "evals"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607  (git from PATH, as a developer runs it)
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def _clean(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


@dataclass
class Run:
    directory: Path
    summary: dict[str, Any]
    records: list[Record]

    @property
    def run_id(self) -> str:
        return str(self.summary["run_id"])


def run_suite(
    suite_name: str,
    options: RunOptions,
    *,
    out: Path | None = None,
    progress: Progress | None = None,
    argv: list[str] | None = None,
) -> Run:
    suite = get_suite(suite_name)
    began = time.perf_counter()
    started_at = datetime.now(UTC)
    result = suite.run(options, progress or (lambda done, total: None))
    duration = time.perf_counter() - began
    intervals: dict[str, list[float | None]] = {}
    for headline in suite.headlines:
        interval = bootstrap_interval(headline.build(result.records), len(result.records))
        intervals[headline.name] = [_clean(interval.low), _clean(interval.high)]
    suffix = secrets.token_hex(3)  # two runs started in the same second stay apart
    run_id = f"{started_at:%Y%m%dT%H%M%S}-{suite_name}-{suffix}"
    directory = out or DEFAULT_RUNS_DIR / run_id
    summary: dict[str, Any] = {
        "run_id": run_id,
        "suite": suite_name,
        "started_at": started_at.isoformat(),
        "duration_s": round(duration, 3),
        "metrics": result.metrics,
        "intervals": intervals,
        "interval_method": f"percentile bootstrap, {BOOTSTRAP_RESAMPLES} resamples, 95%, seeded",
        "counts": result.counts,
        "dataset": {"path": str(options.dataset), "sha256": sha256_of(options.dataset)},
        "catalog": (
            {"path": str(options.catalog), "sha256": sha256_of(options.catalog)}
            if options.catalog and options.catalog.is_file()
            else None
        ),
        "memory": (
            {"path": str(options.memory), "sha256": sha256_of(options.memory)}
            if options.memory
            else None
        ),
        "prompt": result.prompt,
        "model": result.model,
        "git_commit": git_commit(),
        "options": options.reproducible(),
        "command": argv,
        "extra": result.extra,
        "run_dir": str(directory),
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    with (directory / "examples.jsonl").open("w", encoding="utf-8") as handle:
        for record in result.records:
            handle.write(json.dumps(record, default=str) + "\n")
    log.info("stored run %s in %s", run_id, directory)
    return Run(directory, summary, result.records)


def load_run(ref: str | Path, runs_dir: Path = DEFAULT_RUNS_DIR) -> Run:
    """A run directory, or a run id under ``runs_dir``."""
    directory = Path(ref)
    if not (directory / "summary.json").is_file():
        directory = runs_dir / str(ref)
    if not (directory / "summary.json").is_file():
        raise FileNotFoundError(
            f"no run {ref}: neither a run directory nor a run id under {runs_dir} "
            "(a run directory holds summary.json)"
        )
    summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    with (directory / "examples.jsonl").open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    return Run(directory, summary, records)


@dataclass(frozen=True)
class Delta:
    metric: str
    a: float
    b: float
    interval: Interval
    higher_is_better: bool

    @property
    def delta(self) -> float:
        return self.b - self.a

    @property
    def significant(self) -> bool:
        return self.interval.excludes_zero()


def compare_runs(run_a: Run, run_b: Run) -> tuple[list[Delta], int]:
    """Paired bootstrap of each headline metric over the examples both runs share."""
    if run_a.summary["suite"] != run_b.summary["suite"]:
        raise ValueError(
            f"runs are of different suites: {run_a.summary['suite']} vs {run_b.summary['suite']}"
        )
    suite = get_suite(str(run_a.summary["suite"]))
    by_id_b = {str(r["id"]): r for r in run_b.records}
    shared = [str(r["id"]) for r in run_a.records if str(r["id"]) in by_id_b]
    by_id_a = {str(r["id"]): r for r in run_a.records}
    records_a = [by_id_a[i] for i in shared]
    records_b = [by_id_b[i] for i in shared]
    deltas: list[Delta] = []
    for headline in suite.headlines:
        stat_a, stat_b = headline.build(records_a), headline.build(records_b)
        every = np.arange(len(shared))
        interval = paired_bootstrap_delta(stat_a, stat_b, len(shared))
        deltas.append(
            Delta(
                headline.name,
                stat_a(every) if shared else math.nan,
                stat_b(every) if shared else math.nan,
                interval,
                headline.higher_is_better,
            )
        )
    return deltas, len(shared)
