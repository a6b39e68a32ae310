"""A database made by release 0.1.0 upgrades to head with its rows; the baseline revision
is exactly the schema 0.1.0 made; ``serve`` and ``worker`` refuse any schema but head with
the command that fixes it. On SQLite and on PostgreSQL (as the two roles of README
"Deployment": the owner migrates, the service's role runs)."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from api.cli import app
from core import api_keys, audit, inbox
from core.audit import ActorKind, AuditAction, AuditEntryCreate
from core.db import make_engine
from core.migrations import BASELINE, grant_app_role, head, schema_status, upgrade
from core.migrations.status import BASELINE_TABLES
from core.migrations.target import target_metadata
from core.settings import get_settings
from tests import release_0_1_0
from tests.database_roles import APP_ROLE, role_url

runner = CliRunner()


def _service_url(owner_url: str) -> str:
    return role_url(owner_url, APP_ROLE)


def _release_0_1_0_database(owner_url: str) -> None:
    engine = make_engine(owner_url)
    release_0_1_0.create_schema(engine)
    release_0_1_0.fill(engine)
    engine.dispose()


def _upgrade_command(owner_url: str) -> list[str]:
    grant = ["--grant-to", APP_ROLE] if owner_url.startswith("postgresql") else []
    return ["db", "upgrade", "--url", owner_url, *grant]


def test_a_release_0_1_0_database_upgrades_to_head_and_keeps_its_rows(
    blank_database_url: str, cli_env: pytest.MonkeyPatch
) -> None:
    _release_0_1_0_database(blank_database_url)

    upgraded = runner.invoke(app, _upgrade_command(blank_database_url))
    assert upgraded.exit_code == 0, upgraded.output
    assert f"upgraded from release 0.1.0's tables (no revision) to revision {head()}" in (
        upgraded.stdout
    )

    service = make_engine(_service_url(blank_database_url))
    status = schema_status(service)
    assert status.current and status.revision == head()
    assert inbox.status_counts(service)["applied"] == 1
    event = inbox.get(service, receipt_id="rcpt_old_release")
    assert event is not None and event.payload["employee"] == {"external_id": "E1"}
    assert [key.name for key in api_keys.list_keys(service)] == ["ana"]
    report = audit.verify(service)
    assert report.ok and report.checked == 3
    appended = audit.append(
        service,
        entry=AuditEntryCreate(
            actor="system", actor_kind=ActorKind.system, action=AuditAction.retention_purge
        ),
    )
    assert appended.seq == 4 and audit.verify(service).checked == 4
    service.dispose()

    again = runner.invoke(app, _upgrade_command(blank_database_url))
    assert again.exit_code == 0, again.output
    assert f"already at revision {head()}" in again.stdout


def test_an_empty_database_upgrades_from_nothing(
    blank_database_url: str, cli_env: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(app, _upgrade_command(blank_database_url))
    assert result.exit_code == 0, result.output
    assert "upgraded from an empty database" in result.stdout
    current = runner.invoke(app, ["db", "current", "--url", blank_database_url])
    assert current.exit_code == 0 and f"at revision {head()} (current)" in current.stdout


def _where(index: Any) -> str:
    return str({k: str(v) for k, v in index.get("dialect_options", {}).items()})


def _schema(engine: Engine) -> dict[str, Any]:
    """Tables, columns, keys, indexes and triggers as the database reports them."""
    seen = inspect(engine)
    tables: dict[str, Any] = {}
    for name in sorted(BASELINE_TABLES):
        tables[name] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in seen.get_columns(name)],
            "primary key": seen.get_pk_constraint(name)["constrained_columns"],
            "unique": sorted(tuple(u["column_names"]) for u in seen.get_unique_constraints(name)),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), i["unique"], _where(i))
                for i in seen.get_indexes(name)
            ),
        }
    trigger_sql = {
        "sqlite": "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name",
        "postgresql": "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
        "WHERE NOT tgisinternal ORDER BY tgname",
    }[engine.dialect.name]
    with engine.connect() as connection:
        tables["triggers"] = [tuple(row) for row in connection.execute(text(trigger_sql))]
    return tables


def test_the_baseline_revision_is_the_schema_release_0_1_0_made(blank_database_url: str) -> None:
    engine = make_engine(blank_database_url)
    release_0_1_0.create_schema(engine)
    made_by_release = _schema(engine)
    with engine.begin() as connection:
        for table in BASELINE_TABLES:
            connection.exec_driver_sql(f"DROP TABLE {table}")
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("DROP FUNCTION audit_entry_append_only()")
    assert schema_status(engine).empty
    assert upgrade(engine, to=BASELINE).revision == BASELINE
    assert _schema(engine) == made_by_release
    assert len(made_by_release["triggers"]) == {"sqlite": 2, "postgresql": 2}[engine.dialect.name]
    engine.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.postgres
def test_the_models_and_the_head_revision_agree_on_postgres(engine: Engine) -> None:
    """As tests/unit/test_migrations.py on SQLite: PostgreSQL reflects its own types."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, target_metadata()) == []


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["worker"]], ids=" ".join)
def test_serve_and_worker_refuse_a_release_0_1_0_database_and_name_the_command(
    blank_database_url: str, cli_env: pytest.MonkeyPatch, command: list[str]
) -> None:
    _release_0_1_0_database(blank_database_url)
    cli_env.setenv("TALENTSYNC_DATABASE_URL", _service_url(blank_database_url))
    get_settings.cache_clear()

    result = runner.invoke(app, command)

    assert result.exit_code == 1, result.output
    assert "the database schema is made by release 0.1.0, before migrations" in result.stderr
    assert "run `talentsync db upgrade`" in result.stderr
    engine = make_engine(blank_database_url)
    assert schema_status(engine).revision is None  # refused, not changed
    engine.dispose()


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["worker"]], ids=" ".join)
def test_serve_and_worker_refuse_an_older_revision_and_name_the_command(
    blank_database_url: str, cli_env: pytest.MonkeyPatch, command: list[str]
) -> None:
    owner = make_engine(blank_database_url)
    upgrade(owner, to=BASELINE)
    if owner.dialect.name == "postgresql":
        grant_app_role(owner, role=APP_ROLE)  # what the previous release's upgrade granted
    owner.dispose()
    cli_env.setenv("TALENTSYNC_DATABASE_URL", _service_url(blank_database_url))
    get_settings.cache_clear()

    result = runner.invoke(app, command)

    assert result.exit_code == 1, result.output
    assert f"at revision {BASELINE}, older than this release's {head()}" in result.stderr
    assert "run `talentsync db upgrade`" in result.stderr


def test_serve_and_worker_refuse_a_newer_releases_revision(
    engine: Engine, database_url: str, cli_env: pytest.MonkeyPatch
) -> None:
    owner = make_engine(role_url(database_url, "talentsync_owner"))
    with owner.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    owner.dispose()
    cli_env.setenv("TALENTSYNC_DATABASE_URL", database_url)
    get_settings.cache_clear()
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 1, result.output
    assert "at revision 9999, which this release does not know" in result.stderr


def test_an_empty_database_is_created_on_sqlite_and_refused_on_postgres(
    blank_database_url: str, cli_env: pytest.MonkeyPatch
) -> None:
    """SQLite is the embedded default: a new one starts at head. On PostgreSQL the tables
    must belong to the owner's role, so the service's role never creates them."""
    cli_env.setenv("TALENTSYNC_DATABASE_URL", _service_url(blank_database_url))
    get_settings.cache_clear()
    result = runner.invoke(app, ["inbox"])
    engine = make_engine(blank_database_url)
    if engine.dialect.name == "sqlite":
        assert result.exit_code == 0, result.output
        assert schema_status(engine).current
    else:
        assert result.exit_code == 1
        assert "the database schema is empty" in result.stderr
        assert "run `talentsync db upgrade` (on PostgreSQL as the role that owns" in (result.stderr)
        assert schema_status(engine).empty
    engine.dispose()
