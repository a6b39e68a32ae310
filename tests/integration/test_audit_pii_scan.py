"""Entries written before the audit screen may hold what it now refuses, and cannot be
rewritten: `talentsync audit pii-scan` names them (seq, types), never their values."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from core import audit
from core.audit import ActorKind, AuditAction, AuditEntryCreate
from core.settings import get_settings
from core.vault import pseudonym

SUBJECT = pseudonym("E20417", secret=b"k" * 32)


def _decision(receipt: str, skill_text: str) -> AuditEntryCreate:
    return AuditEntryCreate(
        receipt_id=receipt,
        subject=SUBJECT,
        actor="agent:provisioning",
        actor_kind=ActorKind.agent,
        action=AuditAction.decision_made,
        after={"groups": ["role-29-1141"], "user_action": "create"},
        provenance={
            "catalog_version": "demo-2026.11",
            "skills": [{"text": skill_text, "method": "abstained", "confidence": 0.01}],
        },
    )


@pytest.fixture
def cli(
    engine: Engine, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    monkeypatch.setenv("TALENTSYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("TALENTSYNC_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_the_scan_names_old_entries_holding_numbers_by_seq_and_type_only(
    cli: CliRunner, engine: Engine
) -> None:
    from api.cli import app

    audit.append_many(
        engine,
        entries=[
            _decision("rcpt_1", "ms excel"),
            _decision("rcpt_2", "cell +44 7700 900123"),  # as releases before the screen did
            _decision("rcpt_3", "passport 533380006"),
            _decision("rcpt_4", "cell <PHONE_NUMBER_1>"),
        ],
    )
    result = cli.invoke(app, ["audit", "pii-scan"])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if "rcpt_" in line]
    assert [line.split()[1] for line in lines] == ["2", "3"]
    assert "PHONE_NUMBER" in lines[0] and "PASSPORT_NUMBER" in lines[1]
    assert "900123" not in result.output and "533380006" not in result.output


def test_a_clean_trail_passes(cli: CliRunner, engine: Engine) -> None:
    from api.cli import app

    audit.append(engine, entry=_decision("rcpt_1", "Python 3"))
    result = cli.invoke(app, ["audit", "pii-scan"])
    assert result.exit_code == 0, result.output
    assert "No audit entry" in result.output
