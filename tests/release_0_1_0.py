"""A database as release 0.1.0 made it, before migrations: its schema from the DDL that
release emitted (tests/data/release_0_1_0/<dialect>.sql, frozen) and rows written with its
columns, described here so that later models cannot change what "old" means."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.audit import GENESIS_HASH, entry_hash

SNAPSHOTS: Final = Path(__file__).parent / "data" / "release_0_1_0"
WHEN: Final = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

_stamp = sa.DateTime(timezone=True)
INBOX = sa.table(
    "inbox_event",
    *(sa.column(n) for n in ("id", "source", "event_id", "event_type", "employee_external_id")),
    *(sa.column(n) for n in ("status", "attempts")),
    *(sa.column(n, _stamp) for n in ("occurred_at", "next_attempt_at", "received_at")),
    sa.column("payload", sa.JSON),
)
API_KEY = sa.table(
    "api_key",
    *(sa.column(n) for n in ("id", "name", "role", "key_prefix", "key_hash")),
    sa.column("created_at", _stamp),
)
AUDIT = sa.table(
    "audit_entry",
    *(sa.column(n) for n in ("seq", "actor", "actor_kind", "action", "rule", "subject")),
    *(sa.column(n) for n in ("event_id", "receipt_id", "confidence", "prev_hash", "hash")),
    *(sa.column(n, sa.JSON(none_as_null=True)) for n in ("before", "after", "decision")),
    sa.column("provenance", sa.JSON),
    sa.column("at", _stamp),
)


def create_schema(engine: Engine) -> None:
    """Exactly the statements 0.1.0's ``create_tables`` ran on this dialect."""
    script = (SNAPSHOTS / f"{engine.dialect.name}.sql").read_text(encoding="utf-8")
    statements = [s.strip() for s in script.split(";\n\n") if s.strip()]
    with engine.begin() as connection:
        for statement in statements:
            body = "\n".join(
                line for line in statement.splitlines() if not line.startswith("--")
            ).strip()
            if body:
                connection.exec_driver_sql(body)


def audit_rows(count: int) -> list[dict[str, Any]]:
    """A valid hash chain of ``count`` entries, hashed the documented way."""
    rows: list[dict[str, Any]] = []
    previous = GENESIS_HASH
    for seq in range(1, count + 1):
        row: dict[str, Any] = {
            "seq": seq,
            "at": WHEN,
            "event_id": f"evt-{seq}",
            "receipt_id": f"rcpt_{seq:04d}",
            "subject": "emp_" + f"{seq:064x}",
            "actor": "agent:provisioning",
            "actor_kind": "agent",
            "action": "decision_made",
            "rule": "R1",
            "confidence": 0.5,
            "before": None,
            "after": {"groups": ["all-staff"]},
            "provenance": {"rules_fired": ["R1"]},
            "decision": None,
            "prev_hash": previous,
        }
        row["hash"] = previous = entry_hash(row)
        rows.append(row)
    return rows


def fill(engine: Engine) -> None:
    """An inbox event, an API key and three audit entries, as 0.1.0 stored them."""
    with engine.begin() as connection:
        connection.execute(
            INBOX.insert().values(
                id="rcpt_old_release",
                source="standard",
                event_id="evt-old-1",
                event_type="employee.hired",
                employee_external_id="E1",
                status="applied",
                attempts=1,
                occurred_at=WHEN,
                next_attempt_at=WHEN,
                received_at=WHEN,
                payload={"event_id": "evt-old-1", "employee": {"external_id": "E1"}},
            )
        )
        connection.execute(
            API_KEY.insert().values(
                id="a" * 32,
                name="ana",
                role="reviewer",
                key_prefix="ts_abc",
                key_hash="f" * 64,
                created_at=WHEN,
            )
        )
        connection.execute(AUDIT.insert(), audit_rows(3))
