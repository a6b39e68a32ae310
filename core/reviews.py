"""Review checkpoints: one row per paused run, and the decisions people make on it.

The paused run itself lives in the LangGraph checkpoint (thread = inbox receipt id); this
table is what reviewers list, filter and decide on, and what a worker reads to resume the
run with the decision. A decision and the reopening of the inbox row commit together, so a
decision is never lost and never applied twice: a second submission finds the review closed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from core import audit, inbox, vault
from core.audit import ActorKind, AuditAction, AuditEntryCreate
from core.db import as_utc, session_scope, utcnow

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


def open_review(
    engine: Engine,
    *,
    receipt_id: str,
    interrupt_id: str,
    subject: str,
    event_type: str,
    occurred_at: datetime,
    request: dict[str, Any],
    rules: list[str],
    required_approvals: int,
    due_in: timedelta,
    confidence: float | None,
    flags: list[str],
) -> Review:
    """Idempotent per (receipt, interrupt): a resumed worker re-parks the same review."""
    with session_scope(engine) as session:
        existing = session.exec(
            select(Review).where(
                Review.receipt_id == receipt_id, Review.interrupt_id == interrupt_id
            )
        ).first()
        if existing is not None:
            return existing
        review = Review(
            id=new_review_id(),
            receipt_id=receipt_id,
            interrupt_id=interrupt_id,
            subject=subject,
            event_type=event_type,
            occurred_at=occurred_at,
            request=request,
            rules=rules,
            required_approvals=required_approvals,
            due_at=utcnow() + due_in,
            confidence=confidence,
            flags=flags,
        )
        session.add(review)
        return review


def get_review(engine: Engine, *, review_id: str) -> Review:
    with Session(engine, expire_on_commit=False) as session:
        review = session.get(Review, review_id)
    if review is None:
        raise ReviewNotFoundError(f"no review {review_id}")
    return review


DANGER_FLAGS = frozenset({"prompt_injection"})
"""Flags meaning someone may have steered the AI on purpose: the review page warns, marks
privileged groups and makes Reject the default action, and no bulk accept approves it."""

NOT_IN_BULK = (
    "not approved: flagged as a possible prompt injection, so it is approved only on its "
    "own, after reading the warning"
)


def bulk_accept_refusal(engine: Engine, *, review_id: str) -> str | None:
    """Why a bulk accept must pass this review by, or None. A review someone may have steered
    on purpose is never approved unseen, whether the bulk comes from the page or the API;
    bulk reject still takes it (rejecting leaves the LMS as it is)."""
    try:
        flags = get_review(engine, review_id=review_id).flags
    except ReviewNotFoundError:
        return None  # ``decide`` says so in its own words
    return NOT_IN_BULK if any(flag in DANGER_FLAGS for flag in flags) else None


@dataclass(frozen=True)
class ReviewFilter:
    status: ReviewStatus | None = ReviewStatus.pending
    rule: str | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    older_than: timedelta | None = None
    subject: str | None = None
    flag: str | None = None


def list_reviews(
    engine: Engine, *, where: ReviewFilter, limit: int = 50, after: str | None = None
) -> list[Review]:
    """Oldest first (the queue order), keyset-paginated on (created_at, id)."""
    query = select(Review)
    if where.status is not None:
        query = query.where(Review.status == where.status)
    if where.subject is not None:
        query = query.where(Review.subject == where.subject)
    if where.min_confidence is not None:
        query = query.where(col(Review.confidence) >= where.min_confidence)
    if where.max_confidence is not None:
        query = query.where(col(Review.confidence) <= where.max_confidence)
    if where.older_than is not None:
        query = query.where(col(Review.created_at) <= utcnow() - where.older_than)
    with Session(engine, expire_on_commit=False) as session:
        if after is not None:
            anchor = session.get(Review, after)
            if anchor is not None:
                query = query.where(
                    (col(Review.created_at) > anchor.created_at)
                    | ((col(Review.created_at) == anchor.created_at) & (col(Review.id) > anchor.id))
                )
        query = query.order_by(col(Review.created_at), col(Review.id))
        rows = list(session.exec(query))
    # JSON-array filters in Python: portable across SQLite and PostgreSQL, and the queue is
    # small compared with the scan cost of a JSON index
    rows = [r for r in rows if where.rule is None or where.rule in r.rules]
    rows = [r for r in rows if where.flag is None or where.flag in r.flags]
    return rows[:limit]


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        found: dict[str, int] = {}
        for review in session.exec(select(Review.status)):
            found[review] = found.get(review, 0) + 1
    return found


def decide(
    engine: Engine,
    *,
    review_id: str,
    reviewer: str,
    response: dict[str, Any],
    catalog_ids: Iterable[str],
) -> DecisionResult:
    """Record one person's decision; close and resume the run when it is final.

    ``response`` is an Agent Inbox ``HumanResponse``: ``accept``, ``edit`` (args: the
    action request with edited ``groups``), ``ignore`` (reject) or ``response`` (a comment,
    which never resumes anything)."""
    kind = response.get("type")
    with session_scope(engine) as session:
        review = session.get(Review, review_id, with_for_update=True)
        if review is None:
            raise ReviewNotFoundError(f"no review {review_id}")
        result = _decide_in(
            session, review, reviewer=reviewer, response=response, known=set(catalog_ids)
        )
        session.flush()
        audit.append_in(session, entry=_decision_entry(result, reviewer=reviewer, kind=str(kind)))
        return result


def _decide_in(
    session: Session,
    review: Review,
    *,
    reviewer: str,
    response: dict[str, Any],
    known: set[str],
) -> DecisionResult:
    kind = response.get("type")
    now = utcnow().isoformat()
    review_id = review.id
    if kind == "response":
        review.comments = [
            *review.comments,
            {"by": reviewer, "at": now, "text": str(response.get("args") or "")},
        ]
        return DecisionResult(review, resumed=False)
    if review.status in CLOSED:
        raise ReviewClosedError(f"review {review_id} is already {review.status}")
    if kind == "ignore":
        return _close(session, review, ReviewStatus.rejected, response, reviewer, now)
    if kind == "edit":
        edit = _validated_edit(response, known)
        review.pending_edit = edit
        review.approvals = [{"by": reviewer, "decision": "edit", "at": now}]
        if review.required_approvals <= 1:
            return _close(session, review, ReviewStatus.edited, edit, reviewer, now)
        return DecisionResult(review, resumed=False)
    if kind != "accept":
        raise InvalidEditError(f"unknown response type {kind!r}")
    if any(a["by"] == reviewer for a in review.approvals):
        raise DuplicateApprovalError(
            f"{reviewer} already approved review {review_id}; "
            f"it needs {review.required_approvals} different reviewers"
        )
    review.approvals = [*review.approvals, {"by": reviewer, "decision": "accept", "at": now}]
    if len(review.approvals) < review.required_approvals:
        return DecisionResult(review, resumed=False)
    if review.pending_edit is not None:
        return _close(session, review, ReviewStatus.edited, review.pending_edit, reviewer, now)
    return _close(session, review, ReviewStatus.approved, response, reviewer, now)


def _validated_edit(response: dict[str, Any], known: set[str]) -> dict[str, Any]:
    args = response.get("args")
    if not isinstance(args, dict) or not isinstance(args.get("args"), dict):
        raise InvalidEditError("an edit carries the action request: {action, args: {groups}}")
    groups = args["args"].get("groups")
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise InvalidEditError("args.args.groups must be a list of catalog group ids")
    unknown = sorted(set(groups) - known)
    if unknown:
        raise InvalidEditError(f"not in the catalog: {', '.join(unknown)}")
    return {
        "type": "edit",
        "args": {
            "action": args.get("action", "provision"),
            "args": {"groups": sorted(set(groups))},
        },
    }


def _close(
    session: Session,
    review: Review,
    status: ReviewStatus,
    resolution: dict[str, Any],
    reviewer: str,
    now: str,
) -> DecisionResult:
    review.status = status
    review.resolution = {**resolution, "decided_by": reviewer}
    review.decided_at = utcnow()
    if status is ReviewStatus.rejected:
        review.approvals = [*review.approvals, {"by": reviewer, "decision": "reject", "at": now}]
    inbox.reopen_for_resume(session, receipt_id=review.receipt_id)
    return DecisionResult(review, resumed=True)


def resolution_for(engine: Engine, *, receipt_id: str) -> Review | None:
    """The decided review a worker must resume this run with, if any."""
    with Session(engine, expire_on_commit=False) as session:
        return session.exec(
            select(Review).where(
                Review.receipt_id == receipt_id,
                col(Review.resolution).is_not(None),
                Review.status != ReviewStatus.superseded,
            )
        ).first()


def supersede_pending(
    engine: Engine, *, subject: str, occurred_before: datetime, by_receipt: str
) -> list[str]:
    """A newer event for the person replaces every change of theirs still waiting."""
    with session_scope(engine) as session:
        waiting = session.exec(
            select(Review).where(
                Review.subject == subject,
                Review.status == ReviewStatus.pending,
                Review.receipt_id != by_receipt,
            )
        ).all()
        closed: list[Review] = []
        for review in waiting:
            if as_utc(review.occurred_at) > as_utc(occurred_before):
                continue
            review.status, review.decided_at = ReviewStatus.superseded, utcnow()
            review.resolution = {"type": "superseded", "by_receipt": by_receipt}
            inbox.close_parked(
                session,
                receipt_id=review.receipt_id,
                reason={"reason": "superseded by a newer event", "by_receipt": by_receipt},
            )
            closed.append(review)
        if closed:
            session.flush()
            audit.append_many_in(
                session,
                entries=[
                    _decision_entry(
                        DecisionResult(r, resumed=False),
                        reviewer="system:superseded",
                        kind="superseded",
                    )
                    for r in closed
                ],
            )
        return [r.id for r in closed]


@dataclass(frozen=True)
class OverdueAction:
    review_id: str
    action: Literal["expired", "escalated"]
    rules: list[str]
    due_at: datetime


def sweep_overdue(engine: Engine, *, now: datetime | None = None) -> list[OverdueAction]:
    """Apply each overdue review's rule: auto-reject (the run resumes as rejected, so the LMS
    stays untouched) or escalate (again once per due period, so a stuck review keeps
    reminding people without flooding them)."""
    moment = now or utcnow()
    actions: list[OverdueAction] = []
    expired: list[DecisionResult] = []
    with session_scope(engine) as session:
        overdue = session.exec(
            select(Review)
            .where(Review.status == ReviewStatus.pending, col(Review.due_at) < moment)
            .with_for_update(skip_locked=True)
        ).all()
        for review in overdue:
            args = review.request.get("action_request", {}).get("args", {})
            period = timedelta(hours=float(args.get("due_hours", 72)))
            if args.get("on_overdue") == "reject":
                review.status, review.decided_at = ReviewStatus.expired, moment
                review.resolution = {"type": "ignore", "args": None, "decided_by": "system:overdue"}
                inbox.reopen_for_resume(session, receipt_id=review.receipt_id)
                actions.append(OverdueAction(review.id, "expired", review.rules, review.due_at))
                expired.append(DecisionResult(review, resumed=True))
            elif review.escalated_at is None or as_utc(review.escalated_at) + period <= moment:
                review.escalated_at = moment
                actions.append(OverdueAction(review.id, "escalated", review.rules, review.due_at))
        if expired:
            session.flush()
            audit.append_many_in(
                session,
                entries=[
                    _decision_entry(r, reviewer="system:overdue", kind="ignore") for r in expired
                ],
            )
    return actions


def _decision_entry(result: DecisionResult, *, reviewer: str, kind: str) -> AuditEntryCreate:
    review = result.review
    return AuditEntryCreate(
        receipt_id=review.receipt_id,
        subject=review.subject,
        actor=reviewer if reviewer.startswith("system:") else f"reviewer:{reviewer}",
        actor_kind=ActorKind.system if reviewer.startswith("system:") else ActorKind.reviewer,
        action=AuditAction.review_decided,
        rule=",".join(review.rules) or None,
        confidence=review.confidence,
        provenance={"review_id": review.id, "required_approvals": review.required_approvals},
        decision={
            "type": kind,
            "status": review.status,
            "final": result.resumed or review.status in CLOSED,
            "approvals": [a["by"] for a in review.approvals],
            "groups": (review.pending_edit or {}).get("args", {}).get("args", {}).get("groups"),
        },
    )


class RevealGoneError(ReviewError):
    status = 410


def reveal_personal_data(
    engine: Engine, *, review_id: str, admin: str, master_key: bytes
) -> dict[str, str]:
    """What the placeholders of a review's run stood for; admins only (the caller checks).

    The audit entry is written first: if it cannot be written, nothing is revealed."""
    review = get_review(engine, review_id=review_id)
    label = f"{review.receipt_id}:placeholders"
    try:
        found = vault.reveal(engine, master_key=master_key, subject=review.subject, label=label)
    except vault.ShreddedError as error:
        raise RevealGoneError("this person was erased: their personal data is gone") from error
    except vault.EntryNotFoundError:
        found = {}
    values = {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}
    audit.append(
        engine,
        entry=AuditEntryCreate(
            receipt_id=review.receipt_id,
            subject=review.subject,
            actor=f"admin:{admin}",
            actor_kind=ActorKind.admin,
            action=AuditAction.pii_reveal,
            provenance={"review_id": review.id, "placeholders": sorted(values)},
        ),
    )
    return values


@dataclass(frozen=True)
class LabelCounts:
    rules: dict[str, int]
    flags: dict[str, int]


def label_counts(engine: Engine, *, status: ReviewStatus | None) -> LabelCounts:
    """How many reviews (of ``status``, or all) carry each rule and each flag: the counts
    the queue's pick lists show. One pass over two JSON columns, like the rule filter."""
    query = select(Review.rules, Review.flags)
    if status is not None:
        query = query.where(Review.status == status)
    rules: dict[str, int] = {}
    flags: dict[str, int] = {}
    with Session(engine) as session:
        for rule_ids, flag_ids in session.exec(query):
            for rule in dict.fromkeys(rule_ids or []):
                rules[rule] = rules.get(rule, 0) + 1
            for flag in dict.fromkeys(flag_ids or []):
                flags[flag] = flags.get(flag, 0) + 1
    return LabelCounts(rules=rules, flags=flags)
