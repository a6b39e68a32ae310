"""Leave the CLI pointing at what the demo shows.

The demo keeps its state in ``<var>/demo`` (it wipes that folder on each run, so it must not
be the operator's own ``var``). Without help, ``talentsync inbox`` or ``audit query`` run
next in the same folder would open ``var/talentsync.db``, find nothing and report zeros.
So the demo writes ``./.env`` (read by every ``talentsync`` command started in this folder)
with ``TALENTSYNC_VAR_DIR``; the database, keys and Chroma follow the var dir. A ``.env``
the operator wrote is never touched: they are told what to set instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEMO_DIR_NAME = "demo"
ENV_MARKER = "# Written by `talentsync demo`: points the CLI in this folder at the demo's data."
VAR_DIR_ENV = "TALENTSYNC_VAR_DIR"
DATABASE_URL_ENV = "TALENTSYNC_DATABASE_URL"


def demo_directory(var_dir: Path) -> Path:
    """``var_dir/demo``, or ``var_dir`` itself when a demo ``.env`` already points there
    (a second run must not nest ``var/demo/demo``)."""
    return var_dir if var_dir.name == DEMO_DIR_NAME else var_dir / DEMO_DIR_NAME


@dataclass(frozen=True)
class EnvOutcome:
    """What the demo did about ``.env``, and the sentence that tells the operator."""

    written: bool
    message: str


def point_cli_at(demo_dir: Path, *, env_file: Path) -> EnvOutcome:
    demo_dir = demo_dir.resolve()
    settings_line = f"{VAR_DIR_ENV}={demo_dir}"
    overridden = [name for name in (VAR_DIR_ENV, DATABASE_URL_ENV) if name in os.environ]
    if VAR_DIR_ENV in overridden and Path(os.environ[VAR_DIR_ENV]).resolve() == demo_dir:
        overridden.remove(VAR_DIR_ENV)
    if env_file.exists() and not _written_by_demo(env_file):
        return EnvOutcome(
            written=False,
            message=(
                f"Your {env_file} is left alone. To point the CLI at the demo's data: "
                f"export {settings_line} (and unset {DATABASE_URL_ENV} if your .env sets it)."
            ),
        )
    env_file.write_text(
        f"{ENV_MARKER}\n"
        "# Delete this file to go back to ./var; the demo rewrites it while the line above stays.\n"
        f"{settings_line}\n",
        encoding="utf-8",
    )
    message = (
        f"Wrote {env_file} ({settings_line}): `talentsync inbox`, `audit verify`, `audit query` "
        "run in this folder read this demo's data. Delete it to go back to ./var."
    )
    if overridden:
        message += (
            f" But your environment sets {' and '.join(overridden)}, which wins over .env: "
            f"unset it to read the demo's data."
        )
    return EnvOutcome(written=True, message=message)


def _written_by_demo(env_file: Path) -> bool:
    with env_file.open(encoding="utf-8", errors="replace") as handle:
        return handle.readline().rstrip("\n") == ENV_MARKER
