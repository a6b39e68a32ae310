"""The service's PostgreSQL role (README "Deployment") cannot tamper with the audit trail:
no UPDATE, DELETE or TRUNCATE, no disabling, dropping or replacing the triggers, no
``session_replication_role``; and ``talentsync db grant`` refuses a role that could.
Every other PostgreSQL test runs the service as this same role (tests/conftest.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from api.cli import app
from core import audit
from core.audit import ActorKind, AuditAction, AuditEntryCreate
from core.db import make_engine
from core.migrations import grant_app_role
from core.migrations.grants import GrantError
from tests.database_roles import APP_ROLE, OWNER_ROLE, role_url

pytestmark = pytest.mark.postgres
on_postgres = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)

runner = CliRunner()

TAMPERING = [
    "UPDATE audit_entry SET actor = 'reviewer:mallory' WHERE seq = 1",
    "DELETE FROM audit_entry WHERE seq = 2",
    "TRUNCATE audit_entry",
    "ALTER TABLE audit_entry DISABLE TRIGGER ALL",
    "ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only",
    "DROP TRIGGER audit_entry_append_only ON audit_entry",
    "SET session_replication_role = replica",
    "CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
    "ALTER TABLE audit_entry RENAME TO audit_entry_old",
    "DROP TABLE audit_entry",
    f"SET ROLE {OWNER_ROLE}",
]


def _entry(n: int) -> AuditEntryCreate:
    return AuditEntryCreate(
        actor="agent:provisioning",
        actor_kind=ActorKind.agent,
        action=AuditAction.decision_made,
        rule=f"R{n}",
    )


@on_postgres
@pytest.mark.parametrize("statement", TAMPERING)
def test_the_service_role_cannot_tamper_with_the_audit_trail(
    engine: Engine, statement: str
) -> None:
    assert engine.url.username == APP_ROLE
    audit.append_many(engine, entries=[_entry(1), _entry(2)])
    with (
        pytest.raises(DBAPIError, match=r"permission denied|must be owner"),
        engine.begin() as connection,
    ):
        connection.exec_driver_sql(statement)
    report = audit.verify(engine)
    assert report.ok and report.checked == 2


@on_postgres
def test_the_service_role_is_no_superuser_and_owns_none_of_the_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        superuser = connection.scalar(
            text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}
        )
        owners = set(
            connection.scalars(
                text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
            )
        )
    assert superuser is False
    assert owners == {OWNER_ROLE}


@on_postgres
def test_grant_refuses_a_superuser_and_the_tables_owner(database_url: str) -> None:
    owner = make_engine(role_url(database_url, OWNER_ROLE))
    with pytest.raises(GrantError, match="superuser, which can disable the audit triggers"):
        grant_app_role(owner, role="postgres")
    with pytest.raises(GrantError, match="owns the tables"):
        grant_app_role(owner, role=OWNER_ROLE)
    with pytest.raises(GrantError, match="no role"):
        grant_app_role(owner, role="talentsync_nobody")
    owner.dispose()


@on_postgres
def test_db_grant_prints_what_it_granted(database_url: str, cli_env: pytest.MonkeyPatch) -> None:
    owner_url = role_url(database_url, OWNER_ROLE)
    result = runner.invoke(app, ["db", "grant", APP_ROLE, "--url", owner_url])
    assert result.exit_code == 0, result.output
    assert f"GRANT SELECT, INSERT ON TABLE audit_entry TO {APP_ROLE}" in result.stdout
    assert f"GRANT SELECT ON TABLE alembic_version TO {APP_ROLE}" in result.stdout


@pytest.mark.parametrize("blank_database_url", ["postgres"], indirect=True)
def test_db_upgrade_as_the_service_role_is_refused_with_the_reason(
    blank_database_url: str, cli_env: pytest.MonkeyPatch
) -> None:
    service_url = role_url(blank_database_url, APP_ROLE)
    result = runner.invoke(app, ["db", "upgrade", "--url", service_url])
    assert result.exit_code == 1
    assert "permission denied for schema public" in result.stderr
    assert "run `db upgrade` as the role that owns the database" in result.stderr
