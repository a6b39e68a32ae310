"""`talentsync eval run SUITE` with no --dataset runs on the suite's committed dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from evals.default_datasets import DEFAULTS

pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize("suite", ["pii", "injection"])
def test_a_suite_runs_on_its_committed_dataset_without_options(
    cli_env: pytest.MonkeyPatch, tmp_path: Path, suite: str
) -> None:
    out = tmp_path / suite
    result = CliRunner().invoke(
        app, ["eval", "run", suite, "--limit", "4", "--json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["dataset"]["path"] == str(DEFAULTS[suite].dataset)
    assert summary["counts"]["examples"] == 4
