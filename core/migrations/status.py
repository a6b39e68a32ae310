"""How far a database is from the schema this release expects, and bringing it there.

Alembic is imported inside the functions, not at module level: every process imports
``core``, but only opening a database needs the migration machinery."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

from core.db import make_engine

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

BASELINE: Final = "0001"
"""The revision of the schema release 0.1.0 created (``create_all``, before migrations)."""

BASELINE_TABLES: Final = frozenset(
    {"api_key", "audit_entry", "inbox_event", "employee_cursor", "review", "vault_key",
     "vault_entry"}
)  # fmt: skip
"""What a database of release 0.1.0 holds: all of them, or it is not one."""

_UPGRADE_LOCK: Final = 0x7461_6C65_6E74  # PostgreSQL advisory lock: one upgrader at a time


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands against this release's head revision."""

    revision: str | None
    """The stamped revision; ``None`` for an empty database or one made before migrations."""
    head: str
    has_tables: bool
    """Whether any of the service's tables exist (tells 'empty' from 'release 0.1.0')."""
    known: bool
    """Whether this release knows ``revision`` (a newer release's is unknown)."""

    @property
    def current(self) -> bool:
        return self.revision == self.head

    @property
    def empty(self) -> bool:
        return self.revision is None and not self.has_tables

    def describe(self) -> str:
        if self.current:
            return f"at revision {self.head} (current)"
        if self.empty:
            return f"empty (this release creates revision {self.head})"
        if self.revision is None:
            return f"made by release 0.1.0, before migrations (this release needs {self.head})"
        if not self.known:
            return f"at revision {self.revision}, which this release does not know (newer?)"
        return f"at revision {self.revision}, older than this release's {self.head}"


@cache
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def _config(connection: Connection | None = None) -> Config:
    """A programmatic configuration: the scripts are the ``core.migrations`` package's."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "core:migrations")
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """This release's revision."""
    revision = _script().get_current_head()
    assert revision is not None, "core/migrations/versions holds no revision"
    return revision


def _status_on(connection: Connection) -> SchemaStatus:
    from alembic.runtime.migration import MigrationContext

    heads = MigrationContext.configure(connection).get_current_heads()
    revision = heads[0] if heads else None
    has_tables = revision is not None or bool(
        set(inspect(connection).get_table_names()) & BASELINE_TABLES
    )
    return SchemaStatus(
        revision=revision,
        head=head(),
        has_tables=has_tables,
        known=revision is None or revision in _known_revisions(),
    )


@cache
def _known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _script().walk_revisions())


def schema_status(engine: Engine) -> SchemaStatus:
    """Where ``engine``'s database stands; cheap enough for a readiness probe."""
    with engine.connect() as connection:
        return _status_on(connection)


class NotARelease010DatabaseError(RuntimeError):
    """Some of the service's tables exist, not all, and no revision says what they are."""


def upgrade(engine: Engine, *, to: str = "head") -> SchemaStatus:
    """Bring the database to revision ``to``: an empty one is created from nothing, one made
    by release 0.1.0 (its tables, no ``alembic_version``) is stamped at the baseline first.
    DDL needs the right to create and alter the tables: on PostgreSQL, the owner's role."""
    from alembic import command

    with engine.begin() as connection:  # SQLite: BEGIN IMMEDIATE holds off other writers
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_UPGRADE_LOCK})")
        status = _status_on(connection)
        if status.revision == (head() if to == "head" else to):
            return status
        config = _config(connection)
        if status.revision is None and status.has_tables:
            missing = BASELINE_TABLES - set(inspect(connection).get_table_names())
            if missing:
                raise NotARelease010DatabaseError(
                    f"the database has some of TalentSync's tables but not {sorted(missing)}"
                    " and no revision: it was not made by TalentSync 0.1.0; not touching it"
                )
            command.stamp(config, BASELINE)
        command.upgrade(config, to)
    return schema_status(engine)


def new_revision(scratch: Path, *, message: str) -> str:
    """Autogenerate the next revision (numbered after head) against a scratch SQLite
    database brought to head; returns the new file's path."""
    from alembic import command
    from alembic.script import Script

    engine = make_engine(f"sqlite:///{scratch}")
    try:
        upgrade(engine)
        with engine.begin() as connection:
            written = command.revision(
                _config(connection),
                message=message,
                autogenerate=True,
                rev_id=f"{int(head()) + 1:04d}",
            )
    finally:
        engine.dispose()
    assert isinstance(written, Script)
    return written.path
