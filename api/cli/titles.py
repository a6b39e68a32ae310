"""`talentsync titles`: the learned title adapter that AI title mapping ranks with."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from agents.title_agent.stack import refit_title_adapter
from api.cli.output import configure_logging, console, exit_on
from core.catalog import load_catalog
from core.settings import Settings, get_settings
from tools.titles.adapter_refit import AdapterFit, AdapterSource
from tools.titles.adapter_store import AdapterKind

titles_app = typer.Typer(help="AI title mapping: the learned title adapter.", no_args_is_help=True)


@titles_app.command("fit-adapter")
def titles_fit_adapter(
    source: Annotated[
        AdapterSource,
        typer.Option(
            "--from",
            case_sensitive=False,
            help="memory: approved mappings; catalog: the catalog's labels; auto: memory once "
            "there are TALENTSYNC_TITLE_ADAPTER_MIN_APPROVALS of them.",
        ),
    ] = AdapterSource.auto,
) -> None:
    """Fit the title adapter and store it; serve and worker use it from their next start."""
    settings = get_settings()
    configure_logging(settings)
    started = time.perf_counter()
    with exit_on(ValueError):
        fit = refit_title_adapter(
            settings, catalog=load_catalog(settings.catalog_path), source=source
        )
    table = Table("", "", title="Title adapter", show_header=False)
    table.add_row("learnt from", _learnt_from(fit, settings))
    table.add_row("embedder", escape(fit.key.model_id))
    table.add_row("catalog digest", fit.key.catalog_digest)
    table.add_row("key digest", fit.key.digest)
    table.add_row("file", escape(str(fit.path)))
    table.add_row("fit time", f"{fit.seconds:.1f} s")
    table.add_row("total time", f"{time.perf_counter() - started:.1f} s")
    console.print(table)


def _learnt_from(fit: AdapterFit, settings: Settings) -> str:
    if fit.key.kind is AdapterKind.memory:
        return f"approved memory ({fit.key.approvals} mappings)"
    return (
        f"catalog labels ({fit.memory_size} approved mappings; --from auto switches to them "
        f"at {settings.title_adapter_min_approvals})"
    )
