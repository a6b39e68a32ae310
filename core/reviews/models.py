"""What a review is: its statuses, its table, the errors a decision can meet, and what a
decision returns."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db import utcnow

ResponseType = Literal["accept", "edit", "ignore", "response"]
"""Agent Inbox ``HumanResponse`` types; ``ignore`` is our reject, ``response`` a comment."""


class ReviewStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    edited = "edited"  # approved in a changed form
    rejected = "rejected"
    superseded = "superseded"  # a newer event for the same person replaced the change
    expired = "expired"  # overdue under a rule that auto-rejects


CLOSED = frozenset(ReviewStatus) - {ReviewStatus.pending}


class ReviewBase(SQLModel):
    receipt_id: str = Field(max_length=40, index=True, description="Inbox receipt = thread id.")
    interrupt_id: str = Field(max_length=128)
    subject: str = Field(max_length=128, index=True, description="Pseudonym of the person.")
    event_type: str = Field(max_length=64)
    occurred_at: datetime
    status: str = Field(default=ReviewStatus.pending, max_length=16, index=True)
    required_approvals: int = 1
    confidence: float | None = None
    due_at: datetime
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None
    escalated_at: datetime | None = None


class Review(ReviewBase, table=True):
    __tablename__ = "review"
    __table_args__ = (
        UniqueConstraint("receipt_id", "interrupt_id", name="uq_review_interrupt"),
        Index("ix_review_status_created", "status", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    rules: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    flags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    request: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    approvals: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    comments: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    pending_edit: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    resolution: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class ReviewPublic(ReviewBase):
    """What the API shows: scrubbed by construction (the request holds only the model view,
    catalog ids and the pseudonym)."""

    id: str
    rules: list[str]
    flags: list[str]
    request: dict[str, Any]
    approvals: list[dict[str, Any]]
    comments: list[dict[str, Any]]
    pending_edit: dict[str, Any] | None
    resolution: dict[str, Any] | None


class ReviewError(Exception):
    status = 409

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ReviewClosedError(ReviewError):
    """Decided, superseded or expired: a second decision must not resume anything."""


class DuplicateApprovalError(ReviewError):
    """The same person approving twice does not make two approvals."""


class InvalidEditError(ReviewError):
    status = 422


class ReviewNotFoundError(ReviewError):
    status = 404


@dataclass(frozen=True)
class DecisionResult:
    review: Review
    resumed: bool  # True when this decision closed the review and queued the run


def new_review_id() -> str:
    return f"rev_{uuid.uuid4().hex[:24]}"
