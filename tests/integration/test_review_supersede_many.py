"""`supersede_pending_many` against `supersede_pending` called once per item in order, on
the same data, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Engine

from core import inbox, reviews
from core.audit.entry import AuditEntry
from core.inbox import Arrival, InboxEvent
from core.reviews import Review, Supersession
from tests.factories import make_event
from tests.sql_statements import selects

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
_INBOX: Table = InboxEvent.__table__  # type: ignore[attr-defined]
_REVIEWS: Table = Review.__table__  # type: ignore[attr-defined]
_AUDIT: Table = AuditEntry.__table__  # type: ignore[attr-defined]


def _subject(letter: str) -> str:
    """A pseudonym, as the worker names a person in reviews and the audit trail."""
    return "emp_" + letter * 64


WAITING = {  # receipt id: (subject, when the change was asked for)
    "rcpt_a1": (_subject("a"), T0),
    "rcpt_a2": (_subject("a"), T0 + 2 * DAY),
    "rcpt_b1": (_subject("b"), T0),
    "rcpt_c1": (_subject("c"), T0 + 5 * DAY),
}
ITEMS: list[Supersession] = [
    (_subject("a"), T0 + DAY, "rcpt_new_a1"),  # replaces a1, not the later a2
    (_subject("b"), T0 + DAY, "rcpt_b1"),  # the waiting change is this event's own
    (_subject("c"), T0 + DAY, "rcpt_new_c"),  # what waits was asked for later
    (_subject("d"), T0 + DAY, "rcpt_new_d"),  # nothing waits
    (_subject("a"), T0 + 3 * DAY, "rcpt_new_a2"),  # now a2 as well (a1 is closed already)
]


def _park_reviews(engine: Engine) -> None:
    """Each of `WAITING` parked at a review checkpoint with its review open."""
    events = {rid: make_event(occurred_at=at) for rid, (_, at) in WAITING.items()}
    inbox.enqueue_many(engine, [Arrival(e, rid) for rid, e in events.items()])
    claims = inbox.claim_many(engine, worker_id="w", lease_s=60, limit=10)
    for claim in claims:
        subject, at = WAITING[claim.receipt_id]
        review = reviews.open_review(
            engine,
            receipt_id=claim.receipt_id,
            interrupt_id="i1",
            subject=subject,
            event_type=claim.event.type.value,
            occurred_at=at,
            request={},
            rules=["promotion"],
            required_approvals=1,
            due_in=timedelta(hours=72),
            confidence=None,
            flags=[],
        )
        inbox.park(engine, claim=claim, outcome={"rules": review.rules})


def _state(engine: Engine, closed: list[str]) -> dict[str, Any]:
    """Reviews named by their receipt ids (review ids are random), without times."""
    with engine.connect() as connection:
        rows = connection.execute(select(_REVIEWS).order_by(_REVIEWS.c.receipt_id)).all()
        parked = connection.execute(select(_INBOX).order_by(_INBOX.c.id)).all()
        audit = connection.execute(select(_AUDIT).order_by(_AUDIT.c.seq)).all()
    receipt_of = {r.id: r.receipt_id for r in rows}
    return {
        "closed": [receipt_of[review_id] for review_id in closed],
        "reviews": [(r.receipt_id, r.status, r.resolution, r.decided_at is None) for r in rows],
        "inbox": [(r.id, r.status, r.outcome, r.finished_at is None) for r in parked],
        "audit": [(a.seq, a.receipt_id, a.action, a.actor, a.decision) for a in audit],
    }


def test_supersede_many_does_what_supersede_does_for_each_in_order(
    twin_engines: tuple[Engine, Engine],
) -> None:
    single, batch = twin_engines
    states = []
    for engine in twin_engines:
        _park_reviews(engine)
    closed_one_by_one = [
        review_id
        for subject, before, by in ITEMS
        for review_id in reviews.supersede_pending(
            single, subject=subject, occurred_before=before, by_receipt=by
        )
    ]
    states.append(_state(single, closed_one_by_one))
    states.append(_state(batch, reviews.supersede_pending_many(batch, items=ITEMS)))

    assert states[1] == states[0]
    assert states[1]["closed"] == ["rcpt_a1", "rcpt_a2"]
    statuses = {receipt: status for receipt, status, _, _ in states[1]["reviews"]}
    assert statuses == {
        "rcpt_a1": "superseded",
        "rcpt_a2": "superseded",
        "rcpt_b1": "pending",
        "rcpt_c1": "pending",
    }
    superseded = [(receipt, actor) for _, receipt, _, actor, _ in states[1]["audit"][-2:]]
    assert superseded == [("rcpt_a1", "system:superseded"), ("rcpt_a2", "system:superseded")]


def test_supersede_many_reads_once_and_writes_nothing_when_nothing_waits(
    twin_engines: tuple[Engine, Engine],
) -> None:
    engine = twin_engines[0]
    _park_reviews(engine)
    nothing = [item for item in ITEMS if item[0] != _subject("a")]
    with selects(engine) as sent:
        assert reviews.supersede_pending_many(engine, items=nothing) == []
        assert reviews.supersede_pending_many(engine, items=[]) == []
    assert len(sent) == 1
    assert all(status == "pending" for _, status, _, _ in _state(engine, [])["reviews"])
