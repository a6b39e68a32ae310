"""`talentsync keys create|list|revoke`: the key is shown once, never its hash."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from api.cli import app
from core import api_keys
from core.db import make_engine
from core.schema import create_tables
from core.settings import get_settings

runner = CliRunner()


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("TALENTSYNC_DATABASE_URL", url)
    monkeypatch.setenv("TALENTSYNC_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    engine = make_engine(url)
    create_tables(engine)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def _printed_key(output: str) -> str:
    found: list[str] = re.findall(r"tsk_[A-Za-z0-9_-]{43}", output)
    assert len(found) == 1, output
    return found[0]


def test_create_prints_a_working_key_once_with_a_warning(engine: Engine) -> None:
    result = runner.invoke(app, ["keys", "create", "ana", "--role", "Reviewer"])

    assert result.exit_code == 0, result.output
    key = _printed_key(result.output)
    assert "will not be shown again" in result.output
    principal = api_keys.verify_key(engine, key)
    assert principal is not None and principal.name == "ana"
    assert {role.value for role in principal.roles} == {"reviewer"}


def test_list_shows_prefixes_and_states_but_no_secrets(engine: Engine) -> None:
    key = _printed_key(runner.invoke(app, ["keys", "create", "ana", "--role", "admin"]).output)
    runner.invoke(app, ["keys", "create", "audit-bot", "--role", "auditor"])
    assert runner.invoke(app, ["keys", "revoke", "audit-bot"]).exit_code == 0

    listing = runner.invoke(app, ["keys", "list"])

    assert listing.exit_code == 0, listing.output
    assert "ana" in listing.output and "audit-bot" in listing.output
    assert key[:12] in listing.output
    assert key not in listing.output
    assert hashlib.sha256(key.encode()).hexdigest()[:16] not in listing.output
    assert "UTC" in listing.output  # created/revoked times are shown


def test_a_second_active_key_for_a_name_is_refused(engine: Engine) -> None:
    assert runner.invoke(app, ["keys", "create", "ana", "--role", "admin"]).exit_code == 0
    again = runner.invoke(app, ["keys", "create", "ana", "--role", "admin"])
    assert again.exit_code == 1
    assert "revoke it first" in again.output
    assert "tsk_" not in again.output


def test_revoke_stops_the_key_and_unknown_names_fail(engine: Engine) -> None:
    key = _printed_key(runner.invoke(app, ["keys", "create", "ana", "--role", "admin"]).output)

    assert runner.invoke(app, ["keys", "revoke", "ana"]).exit_code == 0
    assert api_keys.verify_key(engine, key) is None
    missing = runner.invoke(app, ["keys", "revoke", "ana"])
    assert missing.exit_code == 1
    assert "no active API key" in missing.output


def test_an_unknown_role_is_a_usage_error(engine: Engine) -> None:
    result = runner.invoke(app, ["keys", "create", "ana", "--role", "owner"])
    assert result.exit_code == 2
    assert api_keys.list_keys(engine) == []
