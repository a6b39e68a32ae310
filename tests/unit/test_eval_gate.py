"""The eval gate: baselines are checked with direction and tolerance, and a deliberately
worse prompt (title_mapping@2) fails it by name while the current one passes.

The prompt effect comes from the scripted prompt-following model in `evals.scripted_chat_models`
(gate mechanics, not a real model's behaviour)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.gate import BASELINES, check, gate_runs, run_gate

pytestmark = pytest.mark.timeout(300)


def test_check_names_each_metric_beyond_tolerance() -> None:
    summary = {"metrics": {"top1": 0.30, "mrr": 0.52, "steered_rate": 0.1, "gone": None}}
    expectations = {
        "top1": {"baseline": 0.40, "tolerance": 0.03},
        "mrr": {"baseline": 0.53, "tolerance": 0.03},
        "steered_rate": {"baseline": 0.0, "tolerance": 0.0, "higher_is_better": False},
        "gone": {"baseline": 1.0},
    }
    failures, checked = check(summary, expectations, "titles:x.csv")
    assert len(checked) == 4
    assert any("top1 dropped" in f for f in failures)
    assert any("steered_rate rose" in f for f in failures)
    assert any("gone: no value" in f for f in failures)
    assert not any(" mrr" in f for f in failures)  # within tolerance


def test_gate_passes_on_the_current_prompt_and_fails_on_the_worse_one(tmp_path: Path) -> None:
    good = run_gate(prompt="title_mapping@1", suites=("injection",), limit=40, out=tmp_path / "a")
    assert good.passed, good.failures
    bad = run_gate(prompt="title_mapping@2", suites=("injection",), limit=40, out=tmp_path / "b")
    assert not bad.passed
    assert any("steered_rate rose" in failure for failure in bad.failures), bad.failures
    summary = next(iter(bad.runs.values())).summary
    assert summary["prompt"].startswith("title_mapping@2#")
    # the code-level defences hold whatever the prompt: nothing outside what was shown
    assert summary["metrics"]["out_of_candidate_rate"] == 0.0


def test_every_gate_run_has_its_own_baselines_and_run_directory() -> None:
    runs = gate_runs()
    baselines = json.loads(BASELINES.read_text())
    assert len({r.key for r in runs}) == len({r.out_name for r in runs}) == len(runs)
    assert all(r.key in baselines for r in runs)
    assert any(r.options.adapter == "catalog" for r in runs)


def test_a_limit_holds_whatever_the_baseline() -> None:
    summary = {"metrics": {"title.altered": 0.012, "city.altered": 0.004, "dept": 0.0}}
    expectations = {
        "title.altered": {"limit": 0.01, "higher_is_better": False},
        "city.altered": {"limit": 0.01, "higher_is_better": False},
        "dept": {"limit": 0.0, "higher_is_better": False},
    }
    failures, checked = check(summary, expectations, "over-redaction:x.csv")
    assert len(checked) == 3
    assert failures == ["over-redaction:x.csv title.altered: 0.012 misses its limit <= 0.01"]


def test_the_over_redaction_suite_is_gated_with_issue_14_targets() -> None:
    baselines = json.loads(BASELINES.read_text())
    run = next(r for r in gate_runs() if r.suite == "over-redaction")
    limits = {metric: spec["limit"] for metric, spec in baselines[run.key].items()}
    assert limits["title.altered"] == 0.01
    assert limits["city.altered"] == 0.01
    assert limits["department.altered"] == 0.0


@pytest.mark.slow
def test_the_over_redaction_gate_passes_on_its_committed_sample(tmp_path: Path) -> None:
    result = run_gate(suites=("over-redaction",), out=tmp_path)
    assert result.passed, result.failures
    run = next(iter(result.runs.values()))
    assert run.summary["counts"]["title"] == 2000
