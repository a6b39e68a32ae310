"""`talentsync eval`: every suite runs without --dataset or says in one line what to give;
a user's slip (an unknown run, a missing file) is one line and exit 1, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.cli.eval_support import dataset_and_catalog
from evals.default_datasets import DEFAULTS, DatasetNeededError
from evals.suites import SUITES

runner = CliRunner()


@pytest.mark.parametrize("suite", SUITES)
def test_each_suite_has_a_committed_dataset_or_names_the_option(suite: str) -> None:
    if suite not in DEFAULTS:
        with pytest.raises(DatasetNeededError, match=r"give --dataset, e\.g\. --dataset \S"):
            dataset_and_catalog(suite, None, None)
        return
    dataset, catalog = dataset_and_catalog(suite, None, None)
    assert dataset.is_file()
    assert "evals/datasets" in dataset.as_posix()
    assert catalog is None or catalog.is_file()


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (["eval", "report", "nosuchrun"], "no run nosuchrun"),
        (["eval", "report", "nosuchrun", "--compare", "other"], "no run nosuchrun"),
        (["eval", "compare", "nosuchrun", "other"], "no run nosuchrun"),
        (["eval", "run", "skills"], "give --dataset, e.g. --dataset ../shared/data/skills/"),
        (["eval", "run", "injection", "--dataset", "missing.jsonl"], "missing.jsonl"),
        (
            ["eval", "run", "titles", "--dataset", "evals/datasets/titles/jobbert.sample.csv"],
            "needs --catalog",
        ),
        (["eval", "pii", "--path", "missing.json"], "missing.json"),
    ],
)
def test_user_errors_are_one_line_and_exit_1(
    cli_env: pytest.MonkeyPatch, command: list[str], says: str
) -> None:
    cli_env.chdir(Path(__file__).resolve().parents[2])
    result = runner.invoke(app, command)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert says in lines[0]
