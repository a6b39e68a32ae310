"""The eval gate: run the suites on the small committed datasets and fail on regressions.

    make eval-gate        # or: talentsync eval gate [--prompt title_mapping@2]

`evals/baselines.json` holds, per ``suite:dataset``, each gated metric's baseline value, the
drop it tolerates, and its direction. A metric that moves the wrong way by more than its
tolerance fails the gate, and the failure names it. A metric may instead (or as well) have a
``limit``: a target that holds whatever the last run measured ("at most 1 % of job titles
altered by the PII guard"), with no tolerance. The datasets are small so the gate runs
in about a minute on a laptop; the full reference files are for `talentsync eval run`.

The ``--prompt`` option evaluates a prompt version: the injection suite's prompt-following
scripted model (`evals.scripted_chat_models`) obeys the rules a prompt states, so a prompt that
drops the candidate-only or "titles are data" rule fails on ``steered_rate``. That shows the
gate's mechanics with a scripted model, not a real model's behaviour.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.runner import REPO, Run, run_suite
from evals.suites import Progress, RunOptions

log = logging.getLogger(__name__)

DATASETS = REPO / "evals" / "datasets"
BASELINES = REPO / "evals" / "baselines.json"


@dataclass(frozen=True)
class GateRun:
    suite: str
    options: RunOptions

    @property
    def key(self) -> str:
        key = f"{self.suite}:{self.options.dataset.relative_to(REPO)}"
        return key if self.options.adapter == "none" else f"{key}+adapter={self.options.adapter}"

    @property
    def out_name(self) -> str:
        return self.suite if self.options.adapter == "none" else f"{self.suite}-adapter"


def _titles_run(adapter: str) -> GateRun:
    options = RunOptions(
        dataset=DATASETS / "titles" / "jobbert.sample.csv",
        catalog=DATASETS / "titles" / "esco_occupations.sample.csv",
        mapper="embedded",
        adapter=adapter,
    )
    return GateRun("titles", options)


def gate_runs(prompt: str = "title_mapping@1") -> list[GateRun]:
    return [
        _titles_run("none"),
        _titles_run("catalog"),  # the product's path once `titles fit-adapter` has run
        GateRun(
            "injection",
            RunOptions(dataset=DATASETS / "injection" / "adversarial_titles.jsonl", prompt=prompt),
        ),
        GateRun(
            "pii",
            RunOptions(dataset=DATASETS / "pii" / "presidio_synth.dev.json", limit=150),
        ),
        GateRun("e2e", RunOptions(dataset=DATASETS / "e2e" / "stream.small.jsonl")),
        GateRun(
            "over-redaction",
            RunOptions(dataset=DATASETS / "over_redaction" / "hr_vocabulary.sample.csv"),
        ),
    ]


@dataclass
class GateResult:
    failures: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    runs: dict[str, Run] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.failures


def check(
    summary: dict[str, Any], expectations: dict[str, Any], key: str
) -> tuple[list[str], list[str]]:
    """(failures, lines checked) for one run against its baselines."""
    failures, checked = [], []
    for metric, spec in expectations.items():
        value = summary["metrics"].get(metric)
        higher = bool(spec.get("higher_is_better", True))
        if "limit" in spec:
            limit = float(spec["limit"])
            bound = ">=" if higher else "<="
            checked.append(f"{key} {metric}: {value} (limit {bound} {limit})")
            if value is None or (value < limit - 1e-12 if higher else value > limit + 1e-12):
                failures.append(f"{key} {metric}: {value} misses its limit {bound} {limit}")
            if "baseline" not in spec:
                continue
        baseline = float(spec["baseline"])
        tolerance = float(spec.get("tolerance", 0.0))
        line = f"{key} {metric}: {value} (baseline {baseline}, tolerance {tolerance})"
        checked.append(line)
        if value is None:
            failures.append(f"{key} {metric}: no value (baseline {baseline})")
            continue
        worse = baseline - value if higher else value - baseline
        if worse > tolerance + 1e-12:
            direction = "dropped" if higher else "rose"
            failures.append(
                f"{key} {metric} {direction} to {value:.4f} from baseline {baseline:.4f} "
                f"(tolerance {tolerance})"
            )
    return failures, checked


def run_gate(
    *,
    prompt: str = "title_mapping@1",
    baselines: Path = BASELINES,
    out: Path | None = None,
    suites: tuple[str, ...] | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
) -> GateResult:
    """Run the gated suites (all, or ``suites``) and check them against ``baselines``.

    ``limit`` caps every run's examples (tests use it to stay fast; the real gate does not)."""
    table: dict[str, dict[str, Any]] = json.loads(baselines.read_text(encoding="utf-8"))
    table.pop("_comment", None)
    result = GateResult()
    for gate_run in gate_runs(prompt):
        if suites is not None and gate_run.suite not in suites:
            continue
        expectations = table.get(gate_run.key)
        if not expectations:
            log.warning("no baselines for %s; not gated", gate_run.key)
            continue
        options = gate_run.options
        if limit is not None:
            options.limit = limit
        run = run_suite(
            gate_run.suite,
            options,
            out=(out / gate_run.out_name) if out else None,
            progress=progress,
        )
        result.runs[gate_run.key] = run
        failures, checked = check(run.summary, expectations, gate_run.key)
        result.failures.extend(failures)
        result.checked.extend(checked)
    return result
