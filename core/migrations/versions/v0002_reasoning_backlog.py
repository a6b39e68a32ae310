"""The reasoning backlog: decision reasoning queued in the database and indexed into Chroma
in batches (``core.reasoning_backlog``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reasoning_backlog",
        sa.Column("entry_id", sa.String(200), nullable=False),
        sa.Column("collection", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(128), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("entry_id"),
    )
    op.create_index("ix_reasoning_backlog_queued_at", "reasoning_backlog", ["queued_at"])
    op.create_index("ix_reasoning_backlog_subject", "reasoning_backlog", ["subject"])


def downgrade() -> None:
    op.drop_table("reasoning_backlog")
