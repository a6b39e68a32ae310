"""The schema: every table of the service, and ``create_tables`` to bring a database to it.

A table exists for SQLAlchemy once its module is imported, so this module imports every
table module. It sits above them, and ``core.db`` (engines and sessions, which the table
modules use) below them, so no import goes round in a circle. The DDL itself is the
migrations' (``core.migrations``): one way to make a database, the one releases upgrade.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

import core.api_keys
import core.audit
import core.inbox
import core.reasoning_backlog
import core.reviews
import core.vault  # noqa: F401


def create_tables(engine: Engine) -> None:
    """Bring the database to this release's schema with the migrations (creating it when
    empty, the audit table's append-only triggers included). For tests, benchmarks and
    evals, which own their database; the service opens with ``core.migrations.open_schema``,
    which never changes an existing schema."""
    from core.migrations import upgrade  # alembic loads only when a database is made

    upgrade(engine)
