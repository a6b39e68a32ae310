"""What the service's PostgreSQL role may do: read and write its tables, append to the
audit trail and read it, and nothing more.

The tables belong to the owner's role (the one ``talentsync db upgrade`` runs as). Only a
table's owner or a superuser can disable its triggers (``ALTER TABLE ... DISABLE TRIGGER``,
``SET session_replication_role``), so a service role that is neither cannot rewrite the
audit trail behind the chain's back: no UPDATE, DELETE or TRUNCATE on ``audit_entry``, and
the triggers refuse those to the owner too. ``CREATE`` on the schema is granted because
LangGraph's checkpointer creates and migrates its own tables (``PostgresSaver.setup``).
"""

from __future__ import annotations

import re
from typing import Final

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from core.audit.entry import AUDIT_TABLE

ROLE_PATTERN: Final = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
APPEND_ONLY_TABLES: Final = frozenset({AUDIT_TABLE.name})
VERSION_TABLE: Final = "alembic_version"


class GrantError(ValueError):
    """The role cannot be the service's role (missing, superuser, or owner of the tables)."""


def grant_app_role(engine: Engine, *, role: str) -> list[str]:
    """Grant ``role`` what the service needs on every table of the service that exists,
    revoking anything more; idempotent, so ``db upgrade --grant-to`` runs it after every
    upgrade. Returns the SQL."""
    from core.migrations.target import target_metadata

    if engine.dialect.name != "postgresql":
        raise GrantError("roles and grants are PostgreSQL's; SQLite has none")
    if not ROLE_PATTERN.match(role):
        raise GrantError(f"{role!r} is not a plain role name (lower case, digits, _)")
    with engine.begin() as connection:
        _check_role(connection, role)
        quote = connection.dialect.identifier_preparer.quote
        name = quote(role)
        schema = quote(str(connection.scalar(text("SELECT current_schema()"))))
        database = quote(str(connection.scalar(text("SELECT current_database()"))))
        statements = [
            f"GRANT CONNECT ON DATABASE {database} TO {name}",
            f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {name}",
        ]
        existing = set(inspect(connection).get_table_names())
        for table in sorted(t.name for t in target_metadata().sorted_tables if t.name in existing):
            rights = (
                "SELECT, INSERT"
                if table in APPEND_ONLY_TABLES
                else ("SELECT, INSERT, UPDATE, DELETE")
            )
            statements += [
                f"REVOKE ALL ON TABLE {quote(table)} FROM {name}",
                f"GRANT {rights} ON TABLE {quote(table)} TO {name}",
            ]
        statements += [
            f"REVOKE ALL ON TABLE {VERSION_TABLE} FROM {name}",
            f"GRANT SELECT ON TABLE {VERSION_TABLE} TO {name}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {name}",
        ]
        for statement in statements:
            connection.exec_driver_sql(statement)
    return statements


def _check_role(connection: Connection, role: str) -> None:
    found = connection.execute(
        text("SELECT rolsuper FROM pg_roles WHERE rolname = :role"), {"role": role}
    ).first()
    if found is None:
        raise GrantError(f"no role {role!r}: CREATE ROLE {role} LOGIN first")
    if found.rolsuper:
        raise GrantError(f"{role!r} is a superuser, which can disable the audit triggers")
    owner = connection.scalar(
        text("SELECT tableowner FROM pg_tables WHERE tablename = :table"),
        {"table": AUDIT_TABLE.name},
    )
    if owner is None:
        raise GrantError("the tables do not exist yet: run `talentsync db upgrade` first")
    if owner == role:
        raise GrantError(
            f"{role!r} owns the tables and could disable their triggers: the tables must "
            "belong to another role (the one that runs `talentsync db upgrade`)"
        )
