"""How every CLI command opens the database: it checks the schema is this release's, names
what it opened and warns when empty.

On stderr, so exports and ``--json`` on stdout stay machine-readable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.markup import escape
from sqlalchemy.engine import Engine

from api.cli.output import err_console
from core.database_contents import DatabaseContents, database_contents, printable_url
from core.db import make_engine
from core.migrations import SchemaNotCurrentError, open_schema
from core.settings import Settings

DEMO_DATABASE = ("demo", "talentsync.db")


def open_database(settings: Settings) -> Engine:
    """The engine for ``settings.database_url``, announced on stderr, once its schema is
    this release's (an empty SQLite database is created; anything else not at head is
    refused with the command that upgrades it, before any work starts)."""
    engine = make_engine(settings.database_url)
    try:
        open_schema(engine)
    except SchemaNotCurrentError as refusal:
        engine.dispose()
        where = escape(printable_url(settings.database_url))
        err_console.print(
            f"[red]{where}: {escape(str(refusal))}[/red]", soft_wrap=True, highlight=False
        )
        raise typer.Exit(1) from None
    announce(settings, database_contents(engine))
    return engine


@contextmanager
def opened_database(settings: Settings) -> Iterator[Engine]:
    """``open_database`` for one command's work, disposed of however the work ends."""
    engine = open_database(settings)
    try:
        yield engine
    finally:
        engine.dispose()


def announce_database(settings: Settings) -> None:
    """For commands that open the database elsewhere (serve, worker): name it up front."""
    engine = open_database(settings)
    engine.dispose()


def announce(settings: Settings, contents: DatabaseContents) -> None:
    err_console.print(
        f"database: {escape(printable_url(settings.database_url))} ({contents.describe()})",
        soft_wrap=True,
        highlight=False,
    )
    if not contents.empty:
        return
    hint = "if the service writes elsewhere, set TALENTSYNC_DATABASE_URL or TALENTSYNC_VAR_DIR"
    demo = settings.var_dir.joinpath(*DEMO_DATABASE)
    if demo.is_file():
        hint = (
            f"the demo's data is in {escape(str(demo.resolve()))}: "
            f"TALENTSYNC_VAR_DIR={escape(str(demo.parent))} points the CLI at it"
        )
    err_console.print(
        f"[yellow]warning:[/yellow] this database is empty; {hint}",
        soft_wrap=True,
        highlight=False,
    )
