"""The schema rule every process applies on open, on SQLite (the embedded default): an
empty database starts at head, anything else not at head is refused with the command that
upgrades it; the models and the head revision agree; alembic loads only when needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from core.db import make_engine
from core.migrations import (
    BASELINE,
    NotARelease010DatabaseError,
    SchemaNotCurrentError,
    head,
    open_schema,
    schema_status,
    upgrade,
)
from core.migrations.target import target_metadata
from core.settings import Settings
from tests import release_0_1_0


@pytest.fixture
def sqlite(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path}/talentsync.db")


def test_the_models_and_the_head_revision_agree(sqlite: Engine) -> None:
    """Add a column without a revision and this fails: ``python -m core.migrations
    revision "..."`` writes one."""
    upgrade(sqlite)
    with sqlite.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, target_metadata()) == []


def test_an_empty_database_is_created_at_head_on_open(sqlite: Engine) -> None:
    assert schema_status(sqlite).empty
    status = open_schema(sqlite)
    assert status.current and status.revision == head()
    assert open_schema(sqlite) == status


def test_a_release_0_1_0_database_is_refused_on_open_and_left_as_it_was(sqlite: Engine) -> None:
    release_0_1_0.create_schema(sqlite)
    with pytest.raises(SchemaNotCurrentError, match="run `talentsync db upgrade`") as refused:
        open_schema(sqlite)
    assert "made by release 0.1.0, before migrations" in str(refused.value)
    assert schema_status(sqlite).revision is None


def test_the_app_refuses_to_start_on_an_old_schema(tmp_path: Path, sqlite: Engine) -> None:
    release_0_1_0.create_schema(sqlite)
    settings = Settings(var_dir=tmp_path, database_url=str(sqlite.url))
    with pytest.raises(SchemaNotCurrentError), TestClient(create_app(settings)):
        pass


def test_an_older_revision_is_refused_with_the_command_then_upgraded(sqlite: Engine) -> None:
    assert upgrade(sqlite, to=BASELINE).revision == BASELINE
    with pytest.raises(SchemaNotCurrentError) as refused:
        open_schema(sqlite)
    assert f"at revision {BASELINE}, older than this release's {head()}" in str(refused.value)
    assert "run `talentsync db upgrade` (on PostgreSQL as the role that owns the tables)" in (
        str(refused.value)
    )
    assert upgrade(sqlite).current and open_schema(sqlite).revision == head()


def test_a_newer_revision_is_refused_without_suggesting_a_downgrade(sqlite: Engine) -> None:
    upgrade(sqlite)
    with sqlite.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'f00d'")
    with pytest.raises(SchemaNotCurrentError, match="does not know") as refused:
        open_schema(sqlite)
    assert "db upgrade" not in str(refused.value)


def test_some_tables_without_a_revision_are_not_taken_for_release_0_1_0(sqlite: Engine) -> None:
    with sqlite.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE inbox_event (id TEXT PRIMARY KEY)")
    with pytest.raises(NotARelease010DatabaseError, match=r"not made by TalentSync 0\.1\.0"):
        upgrade(sqlite)


def test_importing_core_and_the_cli_does_not_load_alembic() -> None:
    """Every process imports these; only opening a database needs the migration machinery."""
    probe = (
        "import sys, core.schema, core.migrations, api.cli, api.app; "
        "sys.exit('alembic' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, check=False, timeout=120)
    assert done.returncode == 0
