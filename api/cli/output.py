"""Where the `talentsync` commands print, and how: results on stdout (``console``), the
rest on stderr (``err_console``, so exports and ``--json`` on stdout stay machine-readable),
logging through rich, and the one way the CLI shows a moment and a refusal."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from api.access_log import AccessPathFilter
from core.db import as_utc
from core.json_logs import JsonFormatter
from core.run_context import RunContextFilter
from core.settings import Settings

console = Console()
err_console = Console(stderr=True)


def configure_logging(settings: Settings) -> None:
    """Readable lines through rich, or one JSON object per line (``log_format``); either
    way on stderr, and every record of a worker's run carries its receipt, run and subject
    ids (``core.run_context``), which the JSON lines show."""
    handler: logging.Handler
    if settings.log_format == "json":
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    else:
        handler = RichHandler(console=Console(stderr=True), show_path=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    handler.addFilter(RunContextFilter())
    handler.addFilter(AccessPathFilter())
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    # httpx logs every request's full URL at INFO, and an LMS search's filter holds the
    # person's HRIS id; the connector logs its own writes without it
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.root.level))
    # alembic announces a dozen plugins at INFO each time a process checks the schema, and
    # Presidio each recognizer it builds: the scrubber builds one per record (its deny-list),
    # and that line was a tenth of a worker's CPU under a backlog
    for announcer in ("alembic", "presidio-analyzer"):
        logging.getLogger(announcer).setLevel(max(logging.WARNING, logging.root.level))


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
