"""The batch lane: the events of one claimed batch the rules place are decided, written
and committed together, and only together where that is safe. One event's trouble fails
that event alone, and an event that needs people leaves the batch for a run of its own."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from agents.checkpointer import saved_threads
from agents.policy.rules import DEFAULT_POLICY
from agents.runtime.workers import open_workers
from core import inbox, reviews
from core.employee import EventType
from core.inbox import InboxStatus
from core.reviews import ReviewFilter, ReviewStatus
from tests.factories import make_employee, make_event
from tests.harness import WorkerHarness, groups_in_lms, sandbox_and_settings
from tools.lms.sandbox import SandboxServer
from tools.lms.scim import ScimLMS
from tools.mapping.rules import RulesMapper

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def rig(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[tuple[Any, ...]]:
    lane = sandbox_and_settings(
        database_url=database_url,
        var_dir=tmp_path,
        worker_claim_batch=8,
        review_policy_path=DEFAULT_POLICY,  # a deactivation waits for review
    )
    with lane as (sandbox, settings), open_workers(settings, engine, count=1) as (worker,):
        yield WorkerHarness(engine, worker, settings), sandbox, ScimLMS.from_settings(settings)


def _sent(sandbox: SandboxServer) -> Counter[str]:
    """Requests that reached the LMS, and (as ``accepted METHOD /path``) writes it took, and
    (as ``in bulk METHOD /path``) the operations it took inside them."""
    log: dict[str, Any] = httpx.get(f"{sandbox.root_url}/_sandbox/requests").json()
    sent = Counter({key: int(n) for key, n in log["requests"].items()})
    sent.update({f"accepted {key}": int(n) for key, n in log["writes"].items()})
    sent.update({f"in bulk {key}": int(n) for key, n in log["bulk_operations"].items()})
    return sent


def test_one_batch_applies_what_the_rules_place_and_fails_or_hands_over_the_rest(
    rig: tuple[Any, ...],
) -> None:
    harness, sandbox, lms = rig
    leaver = make_employee()
    harness.enqueue(make_event(leaver, occurred_at=T0))
    harness.drain()
    taken = make_employee()  # its userName is already held by someone else in the LMS
    lms.create_user(make_employee(email=taken.email, external_id="OTHER-1"))
    hires = [make_employee(department="Sales"), *(make_employee() for _ in range(3))]
    before = _sent(sandbox)
    receipts = {
        "leaver": harness.enqueue(
            make_event(
                leaver.model_copy(update={"employment_status": "inactive"}),
                type=EventType.terminated,
                occurred_at=T0 + timedelta(days=1),
            )
        ),
        "taken": harness.enqueue(make_event(taken, occurred_at=T0)),
        **{f"hire{i}": harness.enqueue(make_event(p, occurred_at=T0)) for i, p in enumerate(hires)},
    }

    assert harness.worker.run_once() == len(receipts)  # one batch
    sent = _sent(sandbox) - before

    status = {k: inbox.get(harness.engine, receipt_id=r).status for k, r in receipts.items()}  # type: ignore[union-attr]
    assert status == {
        "leaver": InboxStatus.awaiting_review,  # a deactivation is reviewed: handed over
        "taken": InboxStatus.dead,  # the LMS refused its user: it alone
        **{f"hire{i}": InboxStatus.applied for i in range(len(hires))},
    }
    dead = inbox.get(harness.engine, receipt_id=receipts["taken"])
    assert dead is not None and "userName" in (dead.last_error or "")
    # nothing of a batch run is kept beside the inbox and the audit: only the handed-over
    # run (its review interrupt) has checkpoints
    services = harness.worker.services
    assert saved_threads(services.checkpointer, receipts.values()) == {receipts["leaver"]}
    mapper = RulesMapper(harness.worker.services.catalog)
    for person in hires:
        wanted = set(mapper.map(person, manages_others=False).group_ids)
        assert groups_in_lms(lms, person.external_id) == wanted
    pending = reviews.list_reviews(harness.engine, where=ReviewFilter(status=ReviewStatus.pending))
    assert [r.receipt_id for r in pending] == [receipts["leaver"]]
    # the six people's accounts were read in one search (plus the refused user's re-read
    # after its 409: was it ours after all?); the five users were written in one POST /Bulk
    # (the taken one refused in it) and the hires' memberships in another
    assert sent["GET"] == 2
    assert sent["accepted POST /Bulk"] == 2
    assert sent["accepted POST /Users"] == 0
    assert sent["in bulk POST /Users"] == len(hires)
    for i, person in enumerate(hires):  # each run's audit counts its own writes
        item = inbox.get(harness.engine, receipt_id=receipts[f"hire{i}"])
        assert item is not None and item.outcome is not None
        groups = groups_in_lms(lms, person.external_id) or set()
        assert item.outcome["applied"]["writes"] == 1 + len(groups) > 1
