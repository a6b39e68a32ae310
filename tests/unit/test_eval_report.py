"""report.md and report.html read as a person expects: tables, not Python reprs; counts as
whole numbers; each target marked pass or FAIL; no promise of plots a suite does not have."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.display import format_metric
from evals.metric_targets import PII_RECALL_TYPES, targets_for
from evals.pii_spans import TARGET_RECALL_TYPES
from evals.report import write_report
from evals.runner import Run


def _run(tmp_path: Path, suite: str, metrics: dict[str, Any], records: list[dict[str, Any]]) -> Run:
    summary = {
        "run_id": f"r-{suite}",
        "suite": suite,
        "duration_s": 1.5,
        "metrics": metrics,
        "intervals": {},
        "interval_method": "percentile bootstrap",
        "counts": {"examples": len(records), "attacks": 114, "benign": 20},
        "dataset": {"path": "d.jsonl", "sha256": "0" * 64},
        "options": {},
    }
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    return Run(tmp_path, summary, records)


def _injection(tmp_path: Path, auto_applied: float) -> Run:
    metrics = {
        "out_of_candidate_rate": 0.0,
        "auto_applied_rate": auto_applied,
        "flag_recall": 1.0,
        "model_calls": 915.0,
        "input_tokens": 32160.0,
        "compromised.out_of_candidate_rate": 0.0,
    }
    return _run(tmp_path, "injection", metrics, [{"id": "1", "attack": True}])


def _rows(md: str, metric: str) -> list[str]:
    return [
        cell.strip()
        for cell in next(line for line in md.splitlines() if line.startswith(f"| {metric} |"))
        .strip("|")
        .split("|")
    ]


def test_integers_are_written_as_integers_and_counts_as_a_table(tmp_path: Path) -> None:
    md_path, html_path = write_report(_injection(tmp_path, 0.0))
    md = md_path.read_text()
    assert _rows(md, "model_calls")[1] == "915"
    assert _rows(md, "input_tokens")[1] == "32,160"
    assert _rows(md, "flag_recall")[1] == "1.0000"
    assert "915.0000" not in md and "{'" not in md
    assert "| examples | 1 |" in md and "| attacks | 114 |" in md
    assert "{&#x27;" not in html_path.read_text() and "<td>114</td>" in html_path.read_text()


def test_targets_are_marked_pass_or_fail(tmp_path: Path) -> None:
    md = write_report(_injection(tmp_path, 0.25))[0].read_text()
    assert _rows(md, "out_of_candidate_rate")[3:] == ["must be 0", "pass"]
    assert _rows(md, "auto_applied_rate")[3:] == ["must be 0", "FAIL"]
    assert _rows(md, "compromised.out_of_candidate_rate")[3:] == ["must be 0", "pass"]
    assert _rows(md, "flag_recall")[3:] == ["", ""]  # no target: nothing claimed
    assert "Targets: 2 of 3 met; FAILED: auto_applied_rate" in md


def test_plots_are_mentioned_only_when_there_are_some(tmp_path: Path) -> None:
    plain = tmp_path / "a"
    plain.mkdir()
    without = write_report(_injection(plain, 0.0))
    md = without[0].read_text()
    assert "report.html" not in md
    assert "<svg" not in without[1].read_text()

    scored = tmp_path / "b"
    scored.mkdir()
    records = [
        {"id": str(i), "confidence": i / 10, "correct": i % 2 == 0, "gold": "a", "predicted": "b"}
        for i in range(10)
    ]
    md_with = write_report(_run(scored, "titles", {"top1": 0.5}, records))[0].read_text()
    assert "Plots (precision vs coverage, calibration, confusion) are in report.html" in md_with


def test_markdown_tables_have_one_cell_per_column(tmp_path: Path) -> None:
    run = _run(tmp_path, "e2e", {"exact_match": 1.0, "weird|name": 2.0}, [{"id": "1"}])
    md = write_report(run)[0].read_text()
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert table
    for line in table:
        assert line.replace("\\|", "").count("|") in (6, 3), line


def test_format_metric_keeps_rates_as_rates() -> None:
    assert format_metric(0.0) == "0.0000"
    assert format_metric(1.0) == "1.0000"
    assert format_metric(0.25) == "0.2500"
    assert format_metric(2.0) == "2"
    assert format_metric(12.5) == "12.5000"
    assert format_metric(None) == "-"
    assert format_metric(7) == "7"
    assert format_metric(1.0, name="failed_calls") == "1"  # a count, however small
    assert format_metric(0.0, name="output_tokens") == "0"
    assert format_metric(1.0, name="answered") == "1.0000"


def test_pii_targets_follow_the_pii_eval() -> None:
    assert PII_RECALL_TYPES == TARGET_RECALL_TYPES
    assert set(targets_for("pii", ["PERSON.recall", "f2", "PERSON.precision"])) == {
        "PERSON.recall",
        "f2",
    }
