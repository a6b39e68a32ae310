"""The inbox from the command line: its counts, its dead letters, and sending one again."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from api.cli.database import open_database
from api.cli.output import console
from core import inbox
from core.inbox import NotReplayableError
from core.settings import get_settings


def replay(receipt_id: Annotated[str, typer.Argument(help="Receipt id of a dead letter.")]) -> None:
    """Send a dead-lettered event round again."""
    engine = open_database(get_settings())
    try:
        row = inbox.replay(engine, receipt_id=receipt_id)
    except KeyError:
        console.print(f"[red]No inbox event {receipt_id}[/red]")
        raise typer.Exit(1) from None
    except NotReplayableError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    console.print(f"[green]{row.id}[/green] is pending again ({row.event_type}, {row.source}).")


def inbox_status(
    dead: Annotated[
        bool, typer.Option("--dead", help="List dead letters with their errors.")
    ] = False,
) -> None:
    """Show inbox counts, or the dead letters."""
    engine = open_database(get_settings())
    if not dead:
        table = Table("status", "events", title="Inbox")
        for status, count in inbox.status_counts(engine).items():
            table.add_row(status, str(count))
        console.print(table)
        return
    table = Table(title="Dead letters")
    table.add_column("receipt", no_wrap=True)  # copied into `talentsync replay`: never cut
    for column in ("type", "employee", "attempts", "last error"):
        table.add_column(column)
    for row in inbox.list_by_status(engine, status=inbox.InboxStatus.dead):
        table.add_row(
            row.id,
            row.event_type,
            row.employee_external_id,
            str(row.attempts),
            row.last_error or "",
        )
    console.print(table)
