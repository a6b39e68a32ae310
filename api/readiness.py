"""What ``/readyz`` checks before a load balancer sends this process traffic: the database
answers, its schema is the one this release expects, and Chroma answers.

Each check returns ``None`` when it passes, else a short reason that is safe to show to
anyone (the probe is unauthenticated): the kind of failure, never a host, a URL or a
credential; the full error goes to the log.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.engine import Engine

from core.migrations import schema_status
from core.settings import Settings
from vectorstore.client import chroma_client

log = logging.getLogger(__name__)


def database_problem(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        log.warning("readiness: database unreachable", exc_info=True)
        return f"unreachable ({type(error).__name__})"
    return None


def schema_problem(engine: Engine) -> str | None:
    """The database is at this release's migration head (``talentsync db upgrade`` brings
    an older one there); the reason names the revision it is at, nothing else."""
    try:
        status = schema_status(engine)
    except Exception as error:
        log.warning("readiness: schema could not be read", exc_info=True)
        return f"unreadable ({type(error).__name__})"
    return None if status.current else status.describe()


def chroma_problem(settings: Settings) -> str | None:
    """The Chroma server (``TALENTSYNC_CHROMA_URL``) or the embedded store answers a
    heartbeat."""
    try:
        chroma_client(settings).heartbeat()
    except Exception as error:
        log.warning("readiness: Chroma unreachable", exc_info=True)
        return f"unreachable ({type(error).__name__})"
    return None


def readiness_problems(settings: Settings, engine: Engine) -> dict[str, str]:
    """Failed checks by name (``database``, ``schema``, ``chroma``); empty when ready. The
    schema is not read from a database that does not answer."""
    problems: dict[str, str] = {}
    if (database := database_problem(engine)) is not None:
        problems["database"] = database
    elif (schema := schema_problem(engine)) is not None:
        problems["schema"] = schema
    if (chroma := chroma_problem(settings)) is not None:
        problems["chroma"] = chroma
    return problems
