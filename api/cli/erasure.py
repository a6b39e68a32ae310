"""`talentsync erase`: the right to erasure, for one person, from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from api.cli.database import opened_database
from api.cli.output import configure_logging, console
from core.settings import get_settings


def erase(
    external_id: Annotated[str, typer.Argument(help="HRIS id of the person to erase.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase one person from TalentSync (right to erasure); cannot be undone."""
    from agents.runtime.erasure import ErasureBusyError, erase_employee

    settings = get_settings()
    configure_logging(settings)
    if not yes:
        typer.confirm(
            f"Erase {external_id} from TalentSync? Their vault entries become unreadable for good",
            abort=True,
        )
    with opened_database(settings) as engine:
        try:
            report = erase_employee(
                engine=engine, settings=settings, external_id=external_id, requested_by="admin:cli"
            )
        except ErasureBusyError as busy:
            console.print(f"[yellow]{busy}[/yellow]; run it again then (it is safe to repeat).")
            raise typer.Exit(1) from None
    console.print(f"[green]Erased {external_id}[/green]; what remains is keyed by")
    console.print(report.subject, soft_wrap=True)  # one unbroken token: copied into queries
    table = Table("what", "count", title="Erasure report")
    for name, value in report.model_dump(exclude={"subject", "out_of_scope"}).items():
        table.add_row(name.replace("_", " "), str(value))
    console.print(table)
    for note in report.out_of_scope:
        console.print(f"[yellow]Not done here:[/yellow] {note}")
