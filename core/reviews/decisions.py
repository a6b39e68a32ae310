"""Decisions on reviews: one person's accept, edit, reject or comment; the system's
supersede and overdue sweep; each recorded in the audit trail with the change it makes, and
the run reopened in the same commit when a decision is final."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Table
from sqlalchemy import select as core_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import audit, inbox
from core.audit import ActorKind, AuditAction, AuditEntryCreate
from core.db import as_utc, session_scope, utcnow
from core.inbox.by_keys import ByKeys
from core.reviews.models import (
    CLOSED,
    DecisionResult,
    DuplicateApprovalError,
    InvalidEditError,
    Review,
    ReviewClosedError,
    ReviewNotFoundError,
    ReviewStatus,
)


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


_REVIEWS: Table = Review.__table__  # type: ignore[attr-defined]
_WAITING = ByKeys.build(
    _REVIEWS.c.subject,
    lambda of: core_select(_REVIEWS.c.subject, _REVIEWS.c.receipt_id, _REVIEWS.c.occurred_at).where(
        of, _REVIEWS.c.status == ReviewStatus.pending
    ),
)
"""The changes still waiting for these people; built once (each run asks)."""

Supersession = tuple[str, datetime, str]
"""A newer event's claim on a person's waiting changes: (subject, occurred_before,
by_receipt), as `supersede_pending` takes them."""


def supersede_pending(
    engine: Engine, *, subject: str, occurred_before: datetime, by_receipt: str
) -> list[str]:
    """A newer event for the person replaces every change of theirs still waiting (asked
    for by another event, no later than ``occurred_before``); returns the reviews closed.

    Every new run asks, and almost always nothing waits: a plain read answers that, and
    only when something does wait is it re-read and closed in a write transaction."""
    return supersede_pending_many(engine, items=[(subject, occurred_before, by_receipt)])


def supersede_pending_many(engine: Engine, *, items: Sequence[Supersession]) -> list[str]:
    """`supersede_pending` for each of ``items`` in order, with one read for them all and,
    only if something waits, one write transaction; returns every review closed."""
    if not items:
        return []
    subjects = sorted({subject for subject, _, _ in items})
    with engine.connect() as connection:
        waiting = _WAITING.execute(connection, subjects).all()
    if not any(
        _replaces(item, w.subject, w.receipt_id, w.occurred_at) for item in items for w in waiting
    ):
        return []
    with session_scope(engine) as session:
        pending = session.exec(
            select(Review)
            .where(col(Review.subject).in_(subjects), Review.status == ReviewStatus.pending)
            .order_by(col(Review.occurred_at), col(Review.id))
        ).all()
        closed: list[Review] = []
        for item in items:
            for review in pending:
                if review.status == ReviewStatus.pending and _replaces(
                    item, review.subject, review.receipt_id, review.occurred_at
                ):
                    _supersede(session, review, by_receipt=item[2])
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


def _replaces(item: Supersession, subject: str, receipt_id: str, occurred_at: datetime) -> bool:
    """Whether the newer event ``item`` replaces this waiting change: same person, another
    event, asked for no later than the newer one occurred."""
    by_subject, occurred_before, by_receipt = item
    return (
        subject == by_subject
        and receipt_id != by_receipt
        and as_utc(occurred_at) <= as_utc(occurred_before)
    )


def _supersede(session: Session, review: Review, *, by_receipt: str) -> None:
    review.status, review.decided_at = ReviewStatus.superseded, utcnow()
    review.resolution = {"type": "superseded", "by_receipt": by_receipt}
    inbox.close_parked(
        session,
        receipt_id=review.receipt_id,
        reason={"reason": "superseded by a newer event", "by_receipt": by_receipt},
    )


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
