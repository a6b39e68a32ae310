"""What the `talentsync eval` commands share: default datasets, and errors as one line.

A mistyped run id or dataset path is the user's slip, not a bug: it gets one red line and
exit 1 instead of a 25-line traceback (kept in the log at DEBUG for the rare real bug).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.markup import escape

from api.cli.output import err_console
from evals.default_datasets import default_data

log = logging.getLogger(__name__)

USER_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, ValueError)
"""Missing or unreadable runs and datasets, malformed files, runs of different suites."""


@contextmanager
def one_line_errors() -> Iterator[None]:
    try:
        yield
    except USER_ERRORS as error:
        log.debug("eval command failed", exc_info=True)
        err_console.print(f"[red]error:[/red] {escape(_message(error))}", soft_wrap=True)
        raise typer.Exit(1) from None


def _message(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.strerror or 'cannot read'}: {error.filename}"
    return str(error) or type(error).__name__


def dataset_and_catalog(
    suite: str, dataset: Path | None, catalog: Path | None
) -> tuple[Path, Path | None]:
    """The given files (which must exist), or the suite's committed defaults."""
    if dataset is None:
        default = default_data(suite)
        dataset, catalog = default.dataset, catalog or default.catalog
    for option, path in (("--dataset", dataset), ("--catalog", catalog)):
        if path is not None and not path.is_file():
            raise FileNotFoundError(2, f"no file for {option}", str(path))
    return dataset, catalog
