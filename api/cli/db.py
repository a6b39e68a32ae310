"""`talentsync db`: the database's schema — upgrade it to this release, say where it stands,
and grant the service's PostgreSQL role what it needs.

On PostgreSQL these run as the role that owns the tables (``--url``), not as the service's
role: the service's role must own nothing, or it could disable the audit triggers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from api.cli.output import console, err_console, exit_on
from core.database_contents import printable_url
from core.db import make_engine
from core.migrations import (
    NotARelease010DatabaseError,
    SchemaStatus,
    grant_app_role,
    schema_status,
    upgrade,
)
from core.migrations.grants import GrantError
from core.settings import get_settings

db_app = typer.Typer(help="The database's schema: upgrade, current, grant.", no_args_is_help=True)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Database to work on (default: TALENTSYNC_DATABASE_URL). On PostgreSQL, connect "
        "as the tables' owner; a password is better in PGPASSWORD or ~/.pgpass than here.",
    ),
]


@contextmanager
def _engine(url: str | None) -> Iterator[Engine]:
    chosen = url or get_settings().database_url
    err_console.print(f"database: {escape(printable_url(chosen))}", soft_wrap=True, highlight=False)
    engine = make_engine(chosen)
    try:
        yield engine
    finally:
        engine.dispose()


@db_app.command("upgrade")
def db_upgrade(
    url: UrlOption = None,
    grant_to: Annotated[
        str | None,
        typer.Option(
            help="Then grant this PostgreSQL role what the service needs (see `db grant`)."
        ),
    ] = None,
) -> None:
    """Upgrade the schema to this release: create an empty database, stamp one made by
    release 0.1.0 at the baseline, then apply every newer revision."""
    with _engine(url) as engine, exit_on(NotARelease010DatabaseError, GrantError):
        before = schema_status(engine)
        try:
            after = upgrade(engine)
        except DBAPIError as error:
            err_console.print(
                f"[red]{escape(str(error.orig))}[/red]: on PostgreSQL, run `db upgrade` as the"
                " role that owns the database",
                soft_wrap=True,
                highlight=False,
            )
            raise typer.Exit(1) from None
        if before.revision == after.revision:
            console.print(f"schema already at revision {after.revision} (current)")
        else:
            console.print(f"schema upgraded from {_was(before)} to revision {after.revision}")
        if grant_to:
            grant_app_role(engine, role=grant_to)
            console.print(f"granted {escape(grant_to)} the service's rights")


def _was(status: SchemaStatus) -> str:
    if status.revision:
        return f"revision {status.revision}"
    return "an empty database" if status.empty else "release 0.1.0's tables (no revision)"


@db_app.command("current")
def db_current(url: UrlOption = None) -> None:
    """Say where the schema stands; exit 0 when it is current, 1 when not (for scripts)."""
    with _engine(url) as engine:
        status = schema_status(engine)
    console.print(f"schema {escape(status.describe())}")
    if not status.current:
        raise typer.Exit(1)


@db_app.command("grant")
def db_grant(
    role: Annotated[
        str, typer.Argument(help="The service's PostgreSQL role, e.g. talentsync_app.")
    ],
    url: UrlOption = None,
) -> None:
    """Grant the service's role read and write on its tables, only SELECT and INSERT on the
    audit trail, and nothing that disables a trigger (run again after every upgrade, or
    use `db upgrade --grant-to`)."""
    with _engine(url) as engine, exit_on(GrantError):
        for statement in grant_app_role(engine, role=role):
            console.print(statement, markup=False, highlight=False)
