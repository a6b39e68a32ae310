"""What an audit entry is: its fields and its table, append-only (see the end). How entries
are hashed and chained is ``core.audit.chain``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table
from sqlmodel import Field, SQLModel

from core.db import as_utc, utcnow

GENESIS_HASH: Final = "0" * 64
"""The ``prev_hash`` of the first entry."""

PSEUDONYM_PATTERN: Final = r"^emp_[0-9a-f]{64}$"
"""What ``core.vault.pseudonym`` returns; anything else (a raw HRIS id) is refused."""


class AuditAction(StrEnum):
    event_received = "event_received"
    decision_made = "decision_made"
    review_requested = "review_requested"
    review_decided = "review_decided"
    lms_write = "lms_write"
    hris_writeback = "hris_writeback"
    erasure = "erasure"
    pii_reveal = "pii_reveal"
    retention_purge = "retention_purge"


class ActorKind(StrEnum):
    agent = "agent"
    reviewer = "reviewer"
    admin = "admin"
    system = "system"


JSONObject = dict[str, Any]


class AuditEntryBase(SQLModel):
    """What the caller says happened. Every field is hashed; ``before``/``after``/
    ``provenance``/``decision`` must already be scrubbed (no names, emails or raw ids): a
    provisioning run's entries are built through ``agents.provisioning.audit_trail``, whose
    ``pii.audit_text.AuditScreen`` passes every string through the PII firewall."""

    event_id: str | None = Field(
        default=None, min_length=1, max_length=256, description="HRIS event id, if any."
    )
    receipt_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The run: inbox receipt id, which is also the LangGraph thread id.",
    )
    subject: str | None = Field(
        default=None,
        max_length=68,
        schema_extra={"pattern": PSEUDONYM_PATTERN},
        description="Pseudonym of the employee (core.vault.pseudonym), never the HRIS id.",
    )
    actor: str = Field(
        min_length=1, max_length=128, description="e.g. agent:provisioning, reviewer:ana, system"
    )
    actor_kind: ActorKind = Field(sa_type=String(16))
    action: AuditAction = Field(sa_type=String(32))
    rule: str | None = Field(
        default=None, min_length=1, max_length=256, description="Policy or mapping rule."
    )
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    before: JSONObject | None = Field(default=None, sa_type=JSON(none_as_null=True))
    after: JSONObject | None = Field(default=None, sa_type=JSON(none_as_null=True))
    provenance: JSONObject = Field(
        default_factory=dict,
        sa_type=JSON,
        description="Rules fired, model id, prompt id@version#hash, catalog version, "
        "confidence, rationale, evidence ids, memory/cache hit.",
    )
    decision: JSONObject | None = Field(
        default=None, sa_type=JSON(none_as_null=True), description="Reviewer and decision."
    )


class AuditEntryCreate(AuditEntryBase):
    """What ``append`` takes; ``seq``, ``at`` and the hashes are assigned by the chain."""


class AuditEntry(AuditEntryBase, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_subject_seq", "subject", "seq"),
        Index("ix_audit_receipt_seq", "receipt_id", "seq"),
        Index("ix_audit_event_seq", "event_id", "seq"),
        Index("ix_audit_action_seq", "action", "seq"),
        Index("ix_audit_at", "at"),
    )

    seq: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"),  # SQLite: the rowid itself
            primary_key=True,
            autoincrement=False,
        )
    )
    at: datetime = Field(default_factory=utcnow)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditEntryPublic(AuditEntryBase):
    seq: int
    at: datetime
    prev_hash: str
    hash: str


HASHED_FIELDS: Final = (
    "seq",
    "at",
    "event_id",
    "receipt_id",
    "subject",
    "actor",
    "actor_kind",
    "action",
    "rule",
    "confidence",
    "before",
    "after",
    "provenance",
    "decision",
    "prev_hash",
)
ALL_FIELDS: Final = (*HASHED_FIELDS, "hash")
JSON_FIELDS: Final = frozenset({"before", "after", "provenance", "decision"})
"""The fields stored as JSON: plain JSON types in, plain JSON types out."""


def iso_utc(moment: datetime) -> str:
    """The one text of ``at``: what is hashed and what an export writes."""
    return as_utc(moment).isoformat(timespec="microseconds")


def fields_of(row: AuditEntry | AuditEntryPublic | Mapping[str, Any]) -> Mapping[str, Any]:
    """Every field of an entry, whether a table row, an API model or an exported mapping."""
    if isinstance(row, Mapping):
        return row
    return {name: getattr(row, name) for name in ALL_FIELDS}


# --- append-only at the database level -------------------------------------------------
# The table's triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) to everyone who
# cannot drop them: they are created with the table by the migrations
# (core/migrations/versions/v0001_baseline.py), and the service's PostgreSQL role, which
# owns no table, can neither disable them nor write anything but INSERT here
# (core.migrations.grants).

APPEND_ONLY_MESSAGE: Final = "audit_entry is append-only"
"""What the triggers raise."""

AUDIT_TABLE: Table = AuditEntry.__table__  # type: ignore[attr-defined]
