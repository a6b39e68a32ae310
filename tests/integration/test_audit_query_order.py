"""`talentsync audit query` shows the newest entries first (`--oldest` for the chain's
start); exports keep chain order so they re-verify, and `--limit N` keeps the newest N."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from api.cli import app
from core import audit
from core.audit import ActorKind, AuditAction, AuditEntryCreate
from core.settings import get_settings

runner = CliRunner()
ENTRIES = 12


@pytest.fixture
def filled(engine: Engine, database_url: str, cli_env: pytest.MonkeyPatch) -> Engine:
    cli_env.setenv("TALENTSYNC_DATABASE_URL", database_url)
    get_settings.cache_clear()
    audit.append_many(
        engine,
        entries=[
            AuditEntryCreate(
                event_id=f"evt_{n}",
                actor="agent:provisioning",
                actor_kind=ActorKind.agent,
                action=AuditAction.decision_made if n % 2 else AuditAction.lms_write,
                rule=f"R{n}",
            )
            for n in range(ENTRIES)
        ],
    )
    return engine


def _table_seqs(output: str) -> list[int]:
    return [int(m) for m in re.findall(r"^│\s*(\d+)\s*│", output, flags=re.MULTILINE)]


def test_the_table_shows_the_newest_entries_first(filled: Engine) -> None:
    result = runner.invoke(app, ["audit", "query", "--limit", "5"])
    assert result.exit_code == 0, result.output
    assert _table_seqs(result.stdout) == [12, 11, 10, 9, 8]
    assert "newest first" in result.stdout


def test_oldest_gives_the_start_of_the_chain(filled: Engine) -> None:
    result = runner.invoke(app, ["audit", "query", "--limit", "5", "--oldest"])
    assert result.exit_code == 0, result.output
    assert _table_seqs(result.stdout) == [1, 2, 3, 4, 5]


def test_a_limited_export_holds_the_newest_in_chain_order_and_reverifies(
    filled: Engine,
) -> None:
    newest = runner.invoke(app, ["audit", "query", "--limit", "4", "--format", "jsonl"])
    assert newest.exit_code == 0, newest.output
    rows = list(audit.read_jsonl(newest.stdout.splitlines()))
    assert [r.seq for r in rows] == [9, 10, 11, 12]
    assert audit.verify_rows(rows).ok  # a contiguous segment: linked

    filtered = runner.invoke(
        app, ["audit", "query", "--action", "lms_write", "--limit", "2", "--format", "jsonl"]
    )
    assert [json.loads(line)["seq"] for line in filtered.stdout.splitlines()] == [9, 11]

    oldest = runner.invoke(app, ["audit", "query", "--limit", "3", "--oldest", "--format", "csv"])
    assert [r.seq for r in audit.read_csv(oldest.stdout.splitlines(keepends=True))] == [1, 2, 3]
