"""What the inbox stores and hands out: its statuses, its two tables, and the claim a
worker holds on a row."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import utcnow
from core.employee import HRISEvent


class InboxStatus(StrEnum):
    pending = "pending"
    processing = "processing"
    applied = "applied"
    stale = "stale"  # older than an event already applied for the same employee
    dead = "dead"  # gave up after the last attempt; replayable
    awaiting_review = "awaiting_review"  # parked at a review checkpoint; a decision reopens it
    rejected = "rejected"  # a reviewer rejected the change; the LMS was not touched


OPEN_STATUSES = (InboxStatus.pending, InboxStatus.processing)


class InboxEventBase(SQLModel):
    source: str = Field(max_length=32)
    event_id: str = Field(max_length=256)
    event_type: str = Field(max_length=64)
    employee_external_id: str = Field(max_length=128)
    occurred_at: datetime


class InboxEvent(InboxEventBase, table=True):
    __tablename__ = "inbox_event"
    __table_args__ = (
        UniqueConstraint("source", "event_id", name="uq_inbox_source_event"),
        Index("ix_inbox_employee_order", "employee_external_id", "occurred_at"),
        Index("ix_inbox_ready", "status", "occurred_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=40, description="The receipt id.")
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default=InboxStatus.pending, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    lease_until: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=128)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    outcome: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    received_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class InboxEventPublic(InboxEventBase):
    """What the admin API shows of an inbox row (no payload: it holds personal data)."""

    id: str
    status: str
    attempts: int
    last_error: str | None
    received_at: datetime
    finished_at: datetime | None


class EmployeeCursor(SQLModel, table=True):
    """The newest event applied per employee: anything older that arrives later is stale.

    It also keeps who reports to whom (ids only, no personal data), which the rules need to
    know whether someone manages others.
    """

    __tablename__ = "employee_cursor"

    external_id: str = Field(primary_key=True, max_length=128)
    last_occurred_at: datetime
    last_receipt_id: str = Field(max_length=40)
    manager_external_id: str | None = Field(default=None, max_length=128, index=True)
    active: bool = True
    updated_at: datetime = Field(default_factory=utcnow)


@dataclass(frozen=True)
class Claim:
    """A row a worker holds a lease on; only its holder may finish it."""

    receipt_id: str
    worker_id: str
    attempts: int
    event: HRISEvent
    # unique to this claim (attempts restart at 0 when a review resumes a run or a dead
    # letter is replayed): what a run read under this claim is still current while it lasts
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


def new_receipt_id() -> str:
    return f"rcpt_{uuid.uuid4().hex}"
