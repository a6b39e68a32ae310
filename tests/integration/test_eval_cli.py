"""`talentsync eval run/compare/report` on small committed samples."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from evals.runner import load_run, run_suite
from evals.scripted_chat_models import PromptFollowingChatModel
from evals.suites import RunOptions

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]
PII = REPO / "evals" / "datasets" / "pii" / "presidio_synth.dev.json"
TITLES = REPO / "evals" / "datasets" / "titles" / "jobbert.sample.csv"
ESCO = REPO / "evals" / "datasets" / "titles" / "esco_occupations.sample.csv"
CLI = Path(sys.executable).parent / "talentsync"
COMMAND = (str(CLI), "eval", "run", "pii")


def test_json_prints_exactly_one_object_on_stdout(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = subprocess.run(
        [*COMMAND, "--dataset", str(PII), "--limit", "20", "--json", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    summary = json.loads(lines[0])
    assert summary["suite"] == "pii"
    assert summary["counts"]["examples"] == 20
    assert len(summary["dataset"]["sha256"]) == 64
    assert set(summary) >= {"metrics", "intervals", "prompt", "model", "git_commit", "duration_s"}
    assert summary["options"]["limit"] == 20
    assert (out / "summary.json").is_file()
    assert len((out / "examples.jsonl").read_text().splitlines()) == 20


def test_compare_flags_a_deliberately_worse_run_as_significant(tmp_path: Path) -> None:
    base = run_suite("pii", RunOptions(dataset=PII, limit=60), out=tmp_path / "a")
    worse_dir = tmp_path / "b"
    shutil.copytree(base.directory, worse_dir)
    records = [json.loads(line) for line in (worse_dir / "examples.jsonl").read_text().splitlines()]
    for record in records[::2]:  # every other sentence now misses every gold span
        record["fn"], record["tp"] = record["support"], 0
    (worse_dir / "examples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    summary = json.loads((worse_dir / "summary.json").read_text())
    summary["run_id"] = "worse"
    (worse_dir / "summary.json").write_text(json.dumps(summary))

    runner = CliRunner()
    result = runner.invoke(app, ["eval", "compare", str(base.directory), str(worse_dir)])
    assert result.exit_code == 0, result.output
    recall_row = next(line for line in result.output.splitlines() if "recall" in line)
    assert "yes" in recall_row
    precision_row = next(line for line in result.output.splitlines() if "precision" in line)
    assert "no" in precision_row  # untouched: identical on every example

    same = runner.invoke(app, ["eval", "compare", str(base.directory), str(base.directory)])
    assert "yes" not in same.output


def test_titles_llm_mapper_with_an_injected_model_counts_calls_and_tokens(
    tmp_path: Path,
) -> None:
    run = run_suite(
        "titles",
        RunOptions(
            dataset=TITLES,
            catalog=ESCO,
            mapper="llm",
            limit=8,
            chat_model=PromptFollowingChatModel(),
        ),
        out=tmp_path / "llm",
    )
    metrics = run.summary["metrics"]
    assert run.summary["prompt"].startswith("title_mapping@1#")
    assert metrics["model_calls"] >= 8
    assert metrics["input_tokens"] > 0
    assert metrics["cost_usd"] == 0.0  # prompt-following is priced at 0 in evals/prices.json
    # the scripted model answers the first shortlisted role: the ranker's top-1
    assert all(r["predicted"] is None or r["predicted"].startswith("http") for r in run.records)
    assert load_run(run.directory).records == run.records


def test_report_writes_markdown_and_self_contained_html(tmp_path: Path) -> None:
    run = run_suite(
        "titles", RunOptions(dataset=TITLES, catalog=ESCO, limit=60), out=tmp_path / "t"
    )
    result = CliRunner().invoke(app, ["eval", "report", str(run.directory)])
    assert result.exit_code == 0, result.output
    html = (run.directory / "report.html").read_text()
    assert html.count("<svg") == 3
    assert "http://" not in html.split("</head>")[0] or "<link" not in html
    assert "<script src" not in html and "<link" not in html
    md = (run.directory / "report.md").read_text()
    assert "| top1 |" in md


def test_titles_with_a_catalog_adapter_score_the_adapted_ranker(tmp_path: Path) -> None:
    def confidences(adapter: str) -> list[float]:
        options = RunOptions(dataset=TITLES, catalog=ESCO, limit=40, adapter=adapter)
        run = run_suite("titles", options, out=tmp_path / adapter)
        assert run.summary["extra"]["adapter"] == adapter
        lines = (run.directory / "examples.jsonl").read_text().splitlines()
        return [json.loads(line)["confidence"] for line in lines]

    plain, adapted = confidences("none"), confidences("catalog")
    assert len(plain) == len(adapted) == 40
    # another weight profile and an extra component: the calibrated confidences move
    assert sum(abs(a - b) > 1e-6 for a, b in zip(plain, adapted, strict=True)) > 20


def test_skills_runs_keep_one_record_per_row_so_they_get_intervals(tmp_path: Path) -> None:
    taxonomy = tmp_path / "labels.txt"
    taxonomy.write_text("use spreadsheets software\nmanage staff\nPython (computer programming)\n")
    dataset = tmp_path / "mini.dev.csv"
    dataset.write_text(
        "sentence,span,sub_span,label\n"
        "Strong ms excel skills,ms excel,,use spreadsheets software\n"
        "You will manage a team of five,manage a team,,manage staff\n"
        "Python 3 and Django,Python 3,,Python (computer programming)\n"
        "We are a friendly bunch,friendly,,LABEL NOT PRESENT\n"
    )
    run = run_suite(
        "skills",
        RunOptions(dataset=dataset, catalog=taxonomy),
        out=tmp_path / "run",
    )
    stored = load_run(tmp_path / "run")
    assert len(stored.records) == 4
    assert stored.summary["counts"] == {"rows": 4, "labelled": 3, "concepts": 3}
    assert run.summary["metrics"]["top1"] is not None
    assert set(stored.summary["intervals"]) >= {"top1", "recall@5", "abstention_recall"}
