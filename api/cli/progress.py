"""A progress bar for CLI commands that wait on long library work, driven by the
library's ``(done, total)`` progress callback (see vectorstore/progress.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from vectorstore.progress import Progress as ProgressCallback


@contextmanager
def progress_bar(
    console: Console, description: str, *, transient: bool = False
) -> Iterator[ProgressCallback]:
    """A bar that pulses until the first report (loading, nothing counted yet), then fills.

    ``transient``: gone once done (``--json`` leaves nothing but its object behind)."""
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
