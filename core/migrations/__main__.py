"""``python -m core.migrations revision "message"``: a new revision from the difference
between the models and a scratch SQLite database at head (a developer's tool; read and
edit what it writes)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from core.migrations.status import head, new_revision


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "revision":
        sys.stderr.write(__doc__ or "")
        return 2
    revises = head()
    with tempfile.TemporaryDirectory() as scratch:
        path = new_revision(Path(scratch) / "head.db", message=argv[1])
    sys.stdout.write(f"{path} (revises {revises})\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
