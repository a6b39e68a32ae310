"""Every CLI command names the database it opened and warns when it is empty; the demo
leaves the CLI in its folder pointing at the demo's data."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.demo_env import ENV_MARKER, demo_directory, point_cli_at
from core import inbox
from core.database_contents import printable_url
from core.db import make_engine
from core.schema import create_tables
from core.settings import Settings, get_settings
from tests.factories import make_event

runner = CliRunner()

DATABASE_COMMANDS = [
    ["inbox"],
    ["inbox", "--dead"],
    ["replay", "rcpt_unknown"],
    ["keys", "list"],
    ["keys", "revoke", "nobody"],
    ["audit", "verify"],
    ["audit", "query"],
    ["audit", "query", "--format", "jsonl"],
    ["audit", "replay", "1"],
    ["audit", "retention", "--days", "30"],
    ["erase", "E404", "--yes"],
]


@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=" ".join)
def test_every_database_command_names_its_database_and_warns_when_empty(
    cli_env: pytest.MonkeyPatch, tmp_path: Path, command: list[str]
) -> None:
    result = runner.invoke(app, command)
    expected = (tmp_path / "var" / "talentsync.db").resolve()
    assert f"database: sqlite:///{expected} (0 inbox events, 0 audit entries)" in result.stderr
    assert "warning: this database is empty" in result.stderr
    assert "database:" not in result.stdout  # exports on stdout stay clean


def test_a_database_with_events_is_counted_and_not_called_empty(
    cli_env: pytest.MonkeyPatch,
) -> None:
    engine = make_engine(get_settings().database_url)
    create_tables(engine)
    inbox.enqueue(engine, event=make_event())
    engine.dispose()
    result = runner.invoke(app, ["inbox"])
    assert result.exit_code == 0, result.output
    assert "(1 inbox events, 0 audit entries)" in result.stderr
    assert "empty" not in result.stderr


def test_an_empty_database_beside_the_demo_names_the_demo_data(
    cli_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    demo = tmp_path / "var" / "demo" / "talentsync.db"
    create_tables(make_engine(f"sqlite:///{demo}"))
    result = runner.invoke(app, ["audit", "verify"])
    assert f"the demo's data is in {demo.resolve()}" in result.stderr.replace("\n", "")


def test_passwords_never_appear_in_the_printed_url() -> None:
    shown = printable_url("postgresql://ts:s3cret@db.internal:5432/talentsync")
    assert "s3cret" not in shown
    assert shown == "postgresql://ts:***@db.internal:5432/talentsync"
    assert printable_url("sqlite:///var/x.db") == f"sqlite:///{Path('var/x.db').resolve()}"


def test_the_database_follows_the_var_dir_unless_named(tmp_path: Path) -> None:
    assert Settings(var_dir=tmp_path).database_url == f"sqlite:///{tmp_path}/talentsync.db"
    assert Settings(var_dir=Path("var")).database_url == "sqlite:///var/talentsync.db"
    named = Settings(var_dir=tmp_path, database_url="postgresql://x@h/db")
    assert named.database_url == "postgresql://x@h/db"


def test_after_the_demo_the_cli_in_its_folder_reads_the_demo_data(
    cli_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What a newcomer does: `make demo`, then `talentsync inbox` in the same folder."""
    cli_env.delenv("TALENTSYNC_VAR_DIR")
    cli_env.delenv("TALENTSYNC_DATABASE_URL", raising=False)
    cli_env.setitem(Settings.model_config, "env_file", ".env")  # as outside the tests
    cli_env.chdir(tmp_path)
    demo_dir = demo_directory(Path("var"))
    engine = make_engine(f"sqlite:///{demo_dir}/talentsync.db")
    create_tables(engine)
    inbox.enqueue(engine, event=make_event())
    engine.dispose()

    outcome = point_cli_at(demo_dir, env_file=Path(".env"))

    assert outcome.written
    assert ".env" in outcome.message
    get_settings.cache_clear()
    result = runner.invoke(app, ["inbox"])
    assert result.exit_code == 0, result.output
    assert f"database: sqlite:///{(demo_dir / 'talentsync.db').resolve()}" in result.stderr
    assert "(1 inbox events" in result.stderr
    assert demo_directory(get_settings().var_dir) == get_settings().var_dir  # no var/demo/demo


def test_the_demo_rewrites_its_own_env_file_but_never_the_operators(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    first = point_cli_at(tmp_path / "var" / "demo", env_file=env_file)
    again = point_cli_at(tmp_path / "elsewhere" / "demo", env_file=env_file)
    assert first.written and again.written
    assert env_file.read_text().startswith(ENV_MARKER)
    assert f"TALENTSYNC_VAR_DIR={tmp_path / 'elsewhere' / 'demo'}" in env_file.read_text()

    env_file.write_text("TALENTSYNC_LOG_LEVEL=DEBUG\n")
    kept = point_cli_at(tmp_path / "var" / "demo", env_file=env_file)
    assert not kept.written
    assert env_file.read_text() == "TALENTSYNC_LOG_LEVEL=DEBUG\n"
    assert f"export TALENTSYNC_VAR_DIR={(tmp_path / 'var' / 'demo').resolve()}" in kept.message
