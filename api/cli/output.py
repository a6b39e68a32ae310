"""Where the `talentsync` commands print, and how: results on stdout (``console``), the
rest on stderr (``err_console``, so exports and ``--json`` on stdout stay machine-readable),
logging through rich, and the one way the CLI shows a moment and a refusal."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from core.db import as_utc
from core.settings import Settings

console = Console()
err_console = Console(stderr=True)


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(name)s: %(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False)],
        force=True,
    )


def when(moment: datetime | None) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


@contextmanager
def exit_on(*errors: type[Exception], code: int = 1) -> Iterator[None]:
    """A refusal the person can act on (a name already taken, no such decision): its message
    as one red line and exit ``code``, not a traceback."""
    try:
        yield
    except errors as error:
        console.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(code) from None
