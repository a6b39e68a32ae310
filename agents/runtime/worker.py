"""Claims inbox events and runs one provisioning graph per event.

Failure policy: transient trouble (LMS or HRIS unreachable, rate limits, unexpected bugs)
is retried with backoff up to `worker_max_attempts`; a permanent refusal (the LMS rejects
the payload, the HRIS has no such person) dead-letters at once with the reason. A graph
interrupted by a crash is resumed from its last checkpoint (one is saved before the LMS
is written), never written twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, Interrupt
from sqlalchemy.engine import Engine

from agents.checkpointer import saved_threads
from agents.provisioning.audit_trail import audit_screen, review_requested_entry
from agents.provisioning.graph import BatchGraph, ProvisioningGraph
from agents.provisioning.state import (
    BatchRun,
    BatchShared,
    ProvisioningContext,
    ProvisioningState,
    batch_ids,
)
from agents.runtime.liveness import HEARTBEATS
from agents.services import Services
from core import inbox, reviews, vault
from core.employee import Employee
from core.inbox import Claim, InboxStatus, LeaseLostError
from core.metrics import RUN_DURATION
from core.run_context import run_context
from pii.identity import RecordIdentity
from tools.hris.errors import HRISFetchError
from tools.lms.errors import LMSRejected, LMSUnavailable

log = logging.getLogger(__name__)

# Events between two indexing batches of their reasoning: large enough that embedding and
# the Chroma write are paid per batch, small enough that audit search lags by seconds.
REASONING_BATCH = 64


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Worker:
    """One batch of claims at a time; several workers may share one `Services` (its parts
    are thread-safe) and the compiled graphs."""

    services: Services
    graph: ProvisioningGraph
    batch: BatchGraph
    worker_id: str = ""

    def __post_init__(self) -> None:
        self.worker_id = self.worker_id or new_worker_id()
        self._prefetched: OrderedDict[str, None] = OrderedDict()
        self._unindexed = 0  # events run since this worker last indexed queued reasoning

    def run_once(self, *, limit: int | None = None) -> int:
        """Claim a batch (at most ``limit`` events) and finish it; how many events it held,
        0 when nothing was ready.

        Claiming several at once (``worker_claim_batch``, one per employee) pays the
        claim's query once per batch, and the events no run has touched yet go through the
        batch lane together (`agents.provisioning.batch_nodes`). The leases of the whole
        batch are kept alive until it is done; if the process dies, the events come back
        when their leases run out.
        """
        settings = self.services.settings
        size = (
            settings.worker_claim_batch
            if limit is None
            else min(limit, settings.worker_claim_batch)
        )
        claims = inbox.claim_many(
            self.services.engine,
            worker_id=self.worker_id,
            lease_s=settings.worker_lease_s,
            limit=max(1, size),
        )
        if not claims:
            if self._unindexed:  # gone idle after work: what it queued is searchable now
                self._index_reasoning()
            return 0
        for claim in claims:
            _renewer.hold(self.services.engine, claim, settings.worker_lease_s)
        started = time.perf_counter()
        try:
            self._prefetch(claims)
            self._work(claims)
        finally:
            for claim in claims:
                _renewer.release(claim)
        elapsed = time.perf_counter() - started
        for _ in claims:  # each event's run took the batch's time
            RUN_DURATION.observe(elapsed)
        self._unindexed += len(claims)
        if self._unindexed >= REASONING_BATCH:
            self._index_reasoning()
        return len(claims)

    def _work(self, claims: list[Claim]) -> None:
        """Events with a checkpoint (a crash mid-run, a review decided) resume on their own
        graph run; the rest start together in the batch lane."""
        if not self.services.settings.worker_batch_lane:  # each run reads its own state
            for claim in claims:
                self._run_alone(claim)
            return
        try:
            saved = saved_threads(self.services.checkpointer, [c.receipt_id for c in claims])
        except Exception as error:  # the database may be restarting: retry them all later
            for claim in claims:
                self._fail(claim, error)
            return
        for claim in claims:
            if claim.receipt_id in saved:
                self._run_alone(claim)
        fresh = [c for c in claims if c.receipt_id not in saved]
        if fresh:
            self._run_batch(fresh)

    def _run_alone(self, claim: Claim, handed_over: BatchRun | None = None) -> None:
        """One event on a graph run of its own: resumed from its checkpoint, or started
        afresh when the batch lane handed it over (its checks done, its reads shared)."""
        ids = (
            handed_over.ids()
            if handed_over is not None
            else run_context(
                receipt_id=claim.receipt_id, run_id=uuid.uuid4().hex, subject=self._subject(claim)
            )
        )
        with ids:
            try:
                if handed_over is None:
                    self._process(claim)
                else:
                    self._start(claim, handed_over.context)
            except LeaseLostError:
                log.warning("lost the lease on %s; another worker owns it now", claim.receipt_id)
            except Exception as error:
                self._fail(claim, error)

    def _run_batch(self, claims: list[Claim]) -> None:
        batch_id = uuid.uuid4().hex
        runs = [
            BatchRun(
                context=ProvisioningContext(services=self.services, claim=claim),
                state=_first_state(claim),
                run_id=batch_id if len(claims) == 1 else uuid.uuid4().hex,
                subject=self._subject(claim),
            )
            for claim in claims
        ]
        with batch_ids(runs, run_id=batch_id):
            live = runs
            try:
                live = self._not_overtaken(runs)
                if live:
                    self._share_reads(live)
            except Exception as error:  # the LMS or the database is away: retry them later
                for run in live:
                    self._fail(run.context.claim, error)
                return
            if not live:
                return
            try:
                done = self.batch.invoke({"runs": live, "handed_over": [], "failed": []})
            except Exception as error:  # a batch-wide write failed (the database is away)
                for run in live:
                    self._fail(run.context.claim, error)
                return
        for run, failure in done.get("failed", []):
            with run.ids():
                if isinstance(failure, LeaseLostError):
                    log.warning(
                        "lost the lease on %s; another worker owns it now",
                        run.context.claim.receipt_id,
                    )
                else:
                    self._fail(run.context.claim, failure)
        for run in done.get("handed_over", []):
            self._run_alone(run.context.claim, run)

    def _not_overtaken(self, runs: list[BatchRun]) -> list[BatchRun]:
        """Finish the stale ones (all in one commit); the others are to run."""
        claims = [r.context.claim for r in runs]
        stale = inbox.overtaken_many(self.services.engine, claims=claims)
        if stale:
            lost = inbox.complete_many(
                self.services.engine,
                completions=[
                    inbox.Completion(claim=c, status=InboxStatus.stale, outcome=stale[c.receipt_id])
                    for c in claims
                    if c.receipt_id in stale
                ],
            )
            for run in runs:
                receipt_id = run.context.claim.receipt_id
                if receipt_id in stale:
                    with run.ids():
                        log.info("stale %s: %s", receipt_id, stale[receipt_id]["reason"])
            for claim in lost:
                log.warning("lost the lease on %s; another worker owns it now", claim.receipt_id)
        return [r for r in runs if r.context.claim.receipt_id not in stale]

    def _share_reads(self, runs: list[BatchRun]) -> None:
        """Read once for the whole batch what its runs would each read (and supersede the
        reviews their people still wait on); the vault values they seal are stored
        together."""
        engine = self.services.engine
        claims = [r.context.claim for r in runs]
        reviews.supersede_pending_many(
            engine,
            items=[
                (r.subject, r.context.claim.event.occurred_at, r.context.claim.receipt_id)
                for r in runs
            ],
        )
        employees = [c.event.employee for c in claims if c.event.employee is not None]
        ids = [c.event.employee_external_id for c in claims]
        accounts = self.services.lms.read_accounts(ids)
        shared = BatchShared(
            accounts={external_id: accounts.get(external_id) for external_id in ids},
            manager_names=inbox.manager_names_many(engine, employees),
            managers=inbox.manages_others_many(engine, external_ids=ids),
            snapshots=inbox.latest_snapshots(engine, external_ids=ids),
            sealings=[],
        )
        for run in runs:
            run.context = ProvisioningContext(
                services=self.services, claim=run.context.claim, shared=shared
            )

    def _index_reasoning(self) -> None:
        """Embed the decisions queued since the last batch (see `core.reasoning_backlog`);
        a failure leaves them queued for the next try and fails no event."""
        self._unindexed = 0
        try:
            self.services.reasoning.flush()
        except Exception:
            log.warning("indexing queued reasoning failed; it stays queued", exc_info=True)

    def run_until_idle(self, *, max_events: int | None = None) -> int:
        processed = 0
        while max_events is None or processed < max_events:
            done = self.run_once(limit=None if max_events is None else max_events - processed)
            if not done:
                break
            processed += done
        return processed

    def drain(self, *, timeout_s: float) -> int:
        """Work until no event is open, waiting out backoffs; for batch jobs and tests.

        Unlike `run_until_idle`, an event waiting for its next attempt keeps this going.
        What was decided is searchable when it returns (queued reasoning is indexed).
        """
        deadline, processed = time.monotonic() + timeout_s, 0
        while inbox.open_count(self.services.engine) and time.monotonic() < deadline:
            done = self.run_once()
            processed += done
            if not done:
                time.sleep(min(self.services.settings.worker_poll_s, 0.05))
        self._index_reasoning()
        return processed

    def run_forever(self, stop: threading.Event) -> None:
        log.info("worker %s started", self.worker_id)
        while not stop.is_set():
            HEARTBEATS.beat(self.worker_id)
            try:
                busy = self.run_once()
            except Exception:  # the database may be restarting: wait and try again
                log.exception("worker %s: claim failed", self.worker_id)
                busy = 0
            if not busy:
                stop.wait(self.services.settings.worker_poll_s)
        HEARTBEATS.forget(self.worker_id)
        log.info("worker %s stopped", self.worker_id)

    def _process(self, claim: Claim) -> None:
        stale = self._overtaken(claim)
        if stale is not None:
            inbox.complete(
                self.services.engine, claim=claim, status=InboxStatus.stale, outcome=stale
            )
            log.info("stale %s: %s", claim.receipt_id, stale["reason"])
            return
        context = ProvisioningContext(services=self.services, claim=claim)
        config = _thread(claim)
        snapshot = self.graph.get_state(config)
        if snapshot.next:
            decided = reviews.resolution_for(self.services.engine, receipt_id=claim.receipt_id)
            log.info("resuming %s at %s", claim.receipt_id, ", ".join(snapshot.next))
            if snapshot.interrupts and decided is not None and decided.resolution is not None:
                resume: Command[Any] = Command(resume={decided.interrupt_id: decided.resolution})
                values = self._run(resume, config, context)
            else:  # a crash mid-run, or a checkpoint with no decision yet: carry on
                values = self._run(None, config, context)
        elif snapshot.values.get("outcome") is None:
            reviews.supersede_pending(
                self.services.engine,
                subject=self._subject(claim),
                occurred_before=claim.event.occurred_at,
                by_receipt=claim.receipt_id,
            )
            self._start(claim, context)
            return
        else:  # the run finished but its inbox row was not marked: finish the bookkeeping
            outcome = snapshot.values["outcome"]
            rejected = (outcome.get("review") or {}).get("decision") == "rejected"
            inbox.complete(
                self.services.engine,
                claim=claim,
                status=InboxStatus.rejected if rejected else InboxStatus.applied,
                outcome=outcome,
            )
            return
        self._park_if_interrupted(claim, values)

    def _start(self, claim: Claim, context: ProvisioningContext) -> None:
        """A first graph run for the event; it parks if it stops for review."""
        self._park_if_interrupted(claim, self._run(_first_state(claim), _thread(claim), context))

    def _park_if_interrupted(self, claim: Claim, values: dict[str, Any]) -> None:
        pending = values.get("__interrupt__")
        if pending:
            self._park(claim, pending[0], state=values)

    def _run(
        self, payload: Any, config: RunnableConfig, context: ProvisioningContext
    ) -> dict[str, Any]:
        """Run the graph with a checkpoint where a crash would cost something, not after
        every step: LangGraph's ``exit`` durability saves when a run stops, and the run is
        stopped once before `apply`, so what was planned (and any AI answer) is saved
        before the LMS is written, and the end (or a review's interrupt) is saved after.

        A crash before the first save starts the event over (its steps only read and
        decide); one during `apply` resumes at `apply`, which re-reads the LMS and writes
        only what is missing. Per-step checkpoints were ten writes of the whole state an
        event, for no guarantee these two do not give.
        """
        values: dict[str, Any] = self.graph.invoke(
            payload, config, context=context, durability="exit", interrupt_before=["apply"]
        )
        if "outcome" in values or "__interrupt__" in values:
            return values  # done (a rejection goes straight to record), or parked for review
        return dict(self.graph.invoke(None, config, context=context, durability="exit"))

    def _overtaken(self, claim: Claim) -> dict[str, Any] | None:
        """Why this event is stale, if it is (see `core.inbox.overtaken_many`)."""
        return inbox.overtaken_many(self.services.engine, claims=[claim]).get(claim.receipt_id)

    def _prefetch(self, claims: list[Claim]) -> None:
        """Scrub the free text of this batch and the next events in one go.

        NER is most of the scrubbing cost and has a large cost per call (a note costs ~3.7
        ms alone, ~1.3 ms in a batch), so under a backlog (a bulk import, a reorganisation)
        the worker analyses the next `worker_prefetch` records together (those it claimed,
        then the next pending ones), once per window, and each run's own scrub step is a
        lookup. A hint only: another worker may take the pending ones, and what is cached
        is offsets and types, never text.
        """
        window = self.services.settings.worker_prefetch
        if window <= 1 or all(c.receipt_id in self._prefetched for c in claims):
            return
        held = [(c.receipt_id, c.event.employee) for c in claims]
        try:
            room = window - len(held)
            upcoming = inbox.upcoming_records(self.services.engine, limit=room) if room > 0 else []
            records = [(r, e) for r, e in held if e is not None] + upcoming
            names = inbox.manager_names_many(self.services.engine, [e for _, e in records])
            self.services.pii.prepare([(e, names[e.manager_external_id or ""]) for _, e in records])
        except Exception:  # the run itself scrubs again; a failed hint costs nothing else
            log.warning("prefetch before %s failed", claims[0].receipt_id, exc_info=True)
            return
        for receipt_id, _ in records:
            self._prefetched[receipt_id] = None
        while len(self._prefetched) > 4 * window:
            self._prefetched.popitem(last=False)

    def _subject(self, claim: Claim) -> str:
        return vault.pseudonym(
            claim.event.employee_external_id, secret=self.services.vault_keys.pseudonym
        )

    def _park(self, claim: Claim, pending: Interrupt, *, state: dict[str, Any]) -> None:
        """The run stopped at the review checkpoint: open the review, free the inbox row."""
        requests = pending.value if isinstance(pending.value, list) else [pending.value]
        employee = Employee.model_validate(state["employee"])
        args = requests[0]["action_request"]["args"]
        review = reviews.open_review(
            self.services.engine,
            receipt_id=claim.receipt_id,
            interrupt_id=pending.id,
            subject=self._subject(claim),
            event_type=claim.event.type,
            occurred_at=claim.event.occurred_at,
            request=requests[0],
            rules=list(args.get("rules", [])),
            required_approvals=int(args.get("required_approvals", 1)),
            due_in=timedelta(hours=float(args.get("due_hours", 72))),
            confidence=args.get("confidence"),
            flags=list(args.get("flags", [])),
        )
        inbox.park(
            self.services.engine,
            claim=claim,
            outcome={"review_id": review.id, "rules": review.rules},
            audit_entries=[
                review_requested_entry(
                    event_id=claim.event.event_id,
                    receipt_id=claim.receipt_id,
                    subject=review.subject,
                    review_id=review.id,
                    request=review.request,
                    screen=audit_screen(
                        firewall=self.services.pii.firewall,
                        identity=RecordIdentity.from_employee(
                            employee, inbox.manager_names(self.services.engine, employee)
                        ),
                        catalog=self.services.catalog,
                        titles=self.services.titles,
                        own_ids=[claim.receipt_id, review.subject],
                    ),
                )
            ],
        )
        self.services.notifier.review_opened(
            review_id=review.id,
            rules=review.rules,
            approvals=review.required_approvals,
            due_at=review.due_at,
        )
        log.info(
            "%s waits for review %s (%s)", claim.receipt_id, review.id, ", ".join(review.rules)
        )

    def _fail(self, claim: Claim, error: Exception) -> None:
        permanent = isinstance(error, LMSRejected) or (
            isinstance(error, HRISFetchError) and not error.transient
        )
        reason = f"{type(error).__name__}: {error}"
        try:
            status = inbox.fail(
                self.services.engine,
                claim=claim,
                error=reason,
                max_attempts=self.services.settings.worker_max_attempts,
                base_s=self.services.settings.worker_backoff_base_s,
                max_s=self.services.settings.worker_backoff_max_s,
                retryable=not permanent,
                not_before_s=error.retry_after if isinstance(error, LMSUnavailable) else None,
            )
        except LeaseLostError:
            log.warning(
                "lost the lease on %s while recording: %s", claim.receipt_id, _error_kind(error)
            )
            return
        level = logging.ERROR if status == InboxStatus.dead else logging.WARNING
        log.log(
            level,
            "%s attempt %d -> %s: %s",
            claim.receipt_id,
            claim.attempts,
            status,
            _error_kind(error),
        )


def _first_state(claim: Claim) -> ProvisioningState:
    return {"receipt_id": claim.receipt_id, "event": claim.event.model_dump(mode="json")}


def _thread(claim: Claim) -> RunnableConfig:
    # one step runs at a time in this graph; a pool of one thread (for the checkpoint
    # writes LangGraph runs in the background) is all each run needs to start
    return {"configurable": {"thread_id": claim.receipt_id}, "max_concurrency": 1}


def _error_kind(error: Exception) -> str:
    """An error as a log line may show it: its type and HTTP status, not its message, which
    may quote an HRIS id or a field value (the whole reason is the inbox row's last_error,
    for admins: ``talentsync inbox --dead``)."""
    status = getattr(error, "status", None) or getattr(error, "status_code", None)
    return f"{type(error).__name__} (status {status})" if status else type(error).__name__


class _LeaseRenewer:
    """Renews the lease of every claim this process's workers hold while a long run (LMS
    retries, a slow HRIS) is still working: one thread for the process, not one per event
    (starting a thread per event was a tenth of an event's cost)."""

    def __init__(self) -> None:
        self._held: dict[int, tuple[Engine, Claim, float, float]] = {}  # id -> (.., due)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, engine: Engine, claim: Claim, lease_s: float) -> None:
        key = id(claim)
        with self._lock:
            self._held[key] = (engine, claim, lease_s, time.monotonic() + lease_s / 3)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, daemon=True, name="lease-renewer"
                )
                self._thread.start()

    def release(self, claim: Claim) -> None:
        with self._lock:
            self._held.pop(id(claim), None)

    def _loop(self) -> None:
        while True:
            time.sleep(RENEWER_TICK_S)
            now = time.monotonic()
            with self._lock:
                due = [(k, held) for k, held in self._held.items() if held[3] <= now]
            for key, (engine, claim, lease_s, _) in due:
                try:
                    inbox.renew_lease(engine, claim=claim, lease_s=lease_s)
                except LeaseLostError:
                    with self._lock:
                        self._held.pop(key, None)
                    continue
                except Exception:
                    log.warning("lease renewal failed", exc_info=True)
                with self._lock:
                    if key in self._held:
                        self._held[key] = (engine, claim, lease_s, now + lease_s / 3)


RENEWER_TICK_S = 0.1
_renewer = _LeaseRenewer()
