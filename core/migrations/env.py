"""Alembic's environment, run by every ``core.migrations`` command on the connection it is
handed (``config.attributes["connection"]``): there is no ``alembic.ini`` and no URL here,
so the migrations ship inside the package and run wherever the service runs."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from core.migrations.target import target_metadata


def run_migrations_online() -> None:
    connection: Connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        # SQLite alters a table by copying it: batch operations do the copy
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("TalentSync's migrations run against a database (no --sql mode)")
run_migrations_online()
