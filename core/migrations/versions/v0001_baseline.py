"""Baseline: the schema release 0.1.0 created with ``create_all``, before migrations.

A database made by 0.1.0 (these tables, no ``alembic_version``) is stamped at this revision
rather than run through it (``core.migrations.upgrade``); an empty one is created by it.
Frozen history: plain SQLAlchemy types and the trigger SQL written out here, so a change to
the models or to ``core.audit`` never changes what this revision did.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POSTGRES_APPEND_ONLY = (
    """CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit_entry is append-only'; END $$""",
    """CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
        FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()""",
    """CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
        FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()""",
)
_SQLITE_APPEND_ONLY = tuple(
    f"CREATE TRIGGER audit_entry_no_{verb.lower()} BEFORE {verb} ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END"
    for verb in ("UPDATE", "DELETE")
)


def _when(moment: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(moment, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "api_key",
        _text("id", 32),
        _text("name", 128),
        _text("role", 16),
        _text("key_prefix", 16),
        _text("key_hash", 64),
        _when("created_at"),
        _when("last_used_at", nullable=True),
        _when("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_index(
        "uq_api_key_active_name",
        "api_key",
        ["name"],
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )

    op.create_table(
        "audit_entry",
        _text("event_id", 256, nullable=True),
        _text("receipt_id", 64, nullable=True),
        _text("subject", 68, nullable=True),
        _text("actor", 128),
        _text("actor_kind", 16),
        _text("action", 32),
        _text("rule", 256, nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("before", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("after", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.Column("decision", sa.JSON(none_as_null=True), nullable=True),
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),  # SQLite: the rowid itself
            autoincrement=False,
            nullable=False,
        ),
        _when("at"),
        _text("prev_hash", 64),
        _text("hash", 64),
        sa.PrimaryKeyConstraint("seq"),
    )
    for name, columns in (
        ("ix_audit_event_seq", ["event_id", "seq"]),
        ("ix_audit_action_seq", ["action", "seq"]),
        ("ix_audit_at", ["at"]),
        ("ix_audit_receipt_seq", ["receipt_id", "seq"]),
        ("ix_audit_subject_seq", ["subject", "seq"]),
    ):
        op.create_index(name, "audit_entry", columns)
    dialect = op.get_bind().dialect.name
    for statement in {"postgresql": _POSTGRES_APPEND_ONLY, "sqlite": _SQLITE_APPEND_ONLY}.get(
        dialect, ()
    ):
        op.execute(statement)

    op.create_table(
        "inbox_event",
        _text("source", 32),
        _text("event_id", 256),
        _text("event_type", 64),
        _text("employee_external_id", 128),
        _when("occurred_at"),
        _text("id", 40),
        sa.Column("payload", sa.JSON(), nullable=False),
        _text("status", 16),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at"),
        _when("lease_until", nullable=True),
        _text("claimed_by", 128, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=True),
        _when("received_at"),
        _when("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "event_id", name="uq_inbox_source_event"),
    )
    op.create_index(
        "ix_inbox_employee_order", "inbox_event", ["employee_external_id", "occurred_at"]
    )
    op.create_index("ix_inbox_claim", "inbox_event", ["status", "next_attempt_at"])

    op.create_table(
        "employee_cursor",
        _text("external_id", 128),
        _when("last_occurred_at"),
        _text("last_receipt_id", 40),
        _text("manager_external_id", 128, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("external_id"),
    )
    op.create_index(
        "ix_employee_cursor_manager_external_id", "employee_cursor", ["manager_external_id"]
    )

    op.create_table(
        "review",
        _text("receipt_id", 40),
        _text("interrupt_id", 128),
        _text("subject", 128),
        _text("event_type", 64),
        _when("occurred_at"),
        _text("status", 16),
        sa.Column("required_approvals", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        _when("due_at"),
        _when("created_at"),
        _when("decided_at", nullable=True),
        _when("escalated_at", nullable=True),
        _text("id", 40),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("approvals", sa.JSON(), nullable=False),
        sa.Column("comments", sa.JSON(), nullable=False),
        sa.Column("pending_edit", sa.JSON(), nullable=True),
        sa.Column("resolution", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("receipt_id", "interrupt_id", name="uq_review_interrupt"),
    )
    op.create_index("ix_review_subject", "review", ["subject"])
    op.create_index("ix_review_status", "review", ["status"])
    op.create_index("ix_review_receipt_id", "review", ["receipt_id"])
    op.create_index("ix_review_status_created", "review", ["status", "created_at"])

    op.create_table(
        "vault_key",
        _text("subject", 128),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("subject"),
    )
    op.create_table(
        "vault_entry",
        _text("id", 32),
        _text("subject", 128),
        _text("label", 256),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject", "label", name="uq_vault_subject_label"),
    )
    op.create_index("ix_vault_entry_subject", "vault_entry", ["subject"])


def downgrade() -> None:
    """Back to an empty database: dropping the tables drops their indexes and triggers."""
    for table in (
        "vault_entry",
        "vault_key",
        "review",
        "employee_cursor",
        "inbox_event",
        "audit_entry",
        "api_key",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_entry_append_only()")
