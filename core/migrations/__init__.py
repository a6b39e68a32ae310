"""Schema migrations (Alembic), shipped inside the package: ``env.py`` and ``versions/``
are found through the ``core:migrations`` script location, with no ``alembic.ini``.

``upgrade`` brings a database to head (``talentsync db upgrade``); ``open_schema`` is the
rule every process applies on open (run only at head; create an empty SQLite database);
``schema_status`` says where a database stands (readiness probes); ``grant_app_role`` gives
the service's PostgreSQL role what it needs and nothing that could rewrite the audit trail.

Adding a revision, after changing a model::

    PYTHONPATH=. python -m core.migrations revision "what changed and why"

writes ``versions/v<NNNN>_<slug>.py`` from the difference between the models and a scratch
database at head; read it, add what autogenerate cannot see (data, triggers), and the test
``tests/unit/test_migrations.py`` holds the models and the head revision to each other.
"""

from __future__ import annotations

from core.migrations.grants import grant_app_role
from core.migrations.opening import UPGRADE_COMMAND, SchemaNotCurrentError, open_schema
from core.migrations.status import (
    BASELINE,
    NotARelease010DatabaseError,
    SchemaStatus,
    head,
    schema_status,
    upgrade,
)

__all__ = [
    "BASELINE",
    "UPGRADE_COMMAND",
    "NotARelease010DatabaseError",
    "SchemaNotCurrentError",
    "SchemaStatus",
    "grant_app_role",
    "head",
    "open_schema",
    "schema_status",
    "upgrade",
]
