"""The schema: every table of the service, and ``create_tables`` to create what is missing.

A table exists for SQLAlchemy once its module is imported, so this module imports every
table module. It sits above them, and ``core.db`` (engines and sessions, which the table
modules use) below them, so no import goes round in a circle.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import core.api_keys
import core.audit
import core.inbox
import core.reasoning_backlog
import core.reviews
import core.vault  # noqa: F401


def create_tables(engine: Engine) -> None:
    """Create missing tables (and, with the audit table, its append-only triggers)."""
    SQLModel.metadata.create_all(engine)
