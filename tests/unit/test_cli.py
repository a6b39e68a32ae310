"""The operator commands that touch the inbox: `talentsync inbox` and `talentsync replay`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from api.cli import app
from core import inbox
from core.db import make_engine
from core.schema import create_tables
from core.settings import get_settings
from tests.factories import make_event

runner = CliRunner()


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("TALENTSYNC_DATABASE_URL", url)
    monkeypatch.setenv("TALENTSYNC_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    engine = make_engine(url)
    create_tables(engine)
    yield engine
    get_settings.cache_clear()


def _dead_letter(engine: Engine) -> str:
    row, _ = inbox.enqueue(engine, event=make_event())
    claim = inbox.claim_next(engine, worker_id="w", lease_s=30)
    assert claim is not None
    inbox.fail(engine, claim=claim, error="LMSUnavailable: 503", max_attempts=1, base_s=0, max_s=0)
    return row.id


def test_replay_sends_a_dead_letter_round_again(engine: Engine) -> None:
    receipt = _dead_letter(engine)
    listing = runner.invoke(app, ["inbox", "--dead"])
    assert listing.exit_code == 0
    assert receipt in listing.output

    result = runner.invoke(app, ["replay", receipt])
    assert result.exit_code == 0, result.output
    row = inbox.get(engine, receipt_id=receipt)
    assert row is not None
    assert row.status == inbox.InboxStatus.pending


def test_replay_refuses_what_is_not_a_dead_letter(engine: Engine) -> None:
    row, _ = inbox.enqueue(engine, event=make_event())
    assert runner.invoke(app, ["replay", row.id]).exit_code == 1
    assert runner.invoke(app, ["replay", "rcpt_unknown"]).exit_code == 1
