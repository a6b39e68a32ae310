"""The rule every process applies when it opens the database (``serve``, ``worker``, the
CLI, the app's lifespan): run only on this release's schema, never change one silently.

- at head: go;
- empty SQLite (the embedded default, a test's file): created at head, nothing to lose;
- anything else refuses with the command that fixes it: an older revision, a database of
  release 0.1.0, a newer release's revision, and an empty PostgreSQL database, whose tables
  must be created by the owner's role (``talentsync db upgrade``), not by the service's
  role, or the service could disable the audit triggers on a table it owns.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy.engine import Engine

from core.migrations.status import SchemaStatus, schema_status, upgrade

UPGRADE_COMMAND: Final = "talentsync db upgrade"


class SchemaNotCurrentError(RuntimeError):
    """The database is not at this release's schema; the message says what to run."""

    def __init__(self, status: SchemaStatus) -> None:
        self.status = status
        if status.revision is not None and not status.known:
            advice = "run the release that made it, or upgrade TalentSync"
        else:
            advice = f"run `{UPGRADE_COMMAND}` (on PostgreSQL as the role that owns the tables)"
        super().__init__(f"the database schema is {status.describe()}: {advice}, then start again")


def open_schema(engine: Engine) -> SchemaStatus:
    """Check the schema before any work; create an empty SQLite database at head."""
    status = schema_status(engine)
    if status.current:
        return status
    if status.empty and engine.dialect.name == "sqlite":
        return upgrade(engine)
    raise SchemaNotCurrentError(status)
