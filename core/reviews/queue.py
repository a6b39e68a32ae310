"""The review queue: opening a review when a run pauses, and reading, filtering and
counting what waits for people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.db import session_scope, utcnow
from core.reviews.models import Review, ReviewNotFoundError, ReviewStatus, new_review_id


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
