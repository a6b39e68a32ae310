"""`talentsync skills`: build the skills taxonomy index ahead of time, and try the mapping
that places a profile's skill strings on it."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.output import configure_logging, console, err_console
from api.cli.progress import progress_bar
from core.settings import Settings, get_settings
from tools.mapping.skill_mapping import SkillMapping, build_skill_mapping

skills_app = typer.Typer(help="Profile skills: the taxonomy index and trying the mapping.")


SKILLS_INDEX_PROGRESS = "skills index (labels embedded once, then kept)"


def _skill_mapping(settings: Settings) -> SkillMapping:
    mapping = build_skill_mapping(settings)
    if mapping is None:
        err_console.print("[red]skills are switched off (TALENTSYNC_SKILL_MAPPER=off)[/red]")
        raise typer.Exit(1)
    return mapping


@skills_app.command("index")
def skills_index() -> None:
    """Build the skills index now (embeds the taxonomy's labels the first time, 30 s to a
    few minutes), so that the first profile with skills does not wait for it."""
    settings = get_settings()
    configure_logging(settings)
    started = time.perf_counter()
    mapping = _skill_mapping(settings)
    with progress_bar(err_console, SKILLS_INDEX_PROGRESS) as progress:
        concepts = mapping.prepare(progress=progress)
    console.print(
        f"skills index ready: {concepts} concepts in {time.perf_counter() - started:.1f} s"
    )


@skills_app.command("map")
def skills_map(
    texts: Annotated[list[str], typer.Argument(help="Skill strings, as a profile holds them.")],
) -> None:
    """Place skill strings on the taxonomy as the provisioning graph does, to try it."""
    settings = get_settings()
    configure_logging(settings)
    mapping = _skill_mapping(settings)
    with progress_bar(err_console, SKILLS_INDEX_PROGRESS) as progress:
        mapping.prepare(progress=progress)  # the first time: embeds the taxonomy's labels
    decisions = mapping.map(texts)
    table = Table("skill", "concept", "confidence", "method", title="Skills")
    for decision in decisions:
        table.add_row(
            escape(decision.text),
            escape(decision.label or "-"),
            f"{decision.confidence:.2f}",
            decision.method,
        )
    console.print(table)
