"""Scale-out as deployed: the API alone (`serve --workers 0`) and three `talentsync worker`
processes on PostgreSQL, with a Chroma server and the LMS sandbox, each its own process.

A simulated HRIS stream (duplicates, late events) arrives as signed webhooks over HTTP from
a few concurrent senders; one worker is SIGKILLed while it holds an event. Afterwards,
read from the database and the LMS: nothing lost, nothing applied twice, order kept per
employee, and the LMS holds what the HRIS says.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.demo_readback import compare_with_hris
from bench.cluster import Cluster, ClusterConfig, Process
from bench.webhook_sender import SendReport, send_stream
from core import inbox
from core.audit import AuditAction, AuditEntry
from core.catalog import load_catalog
from core.db import as_utc, make_engine
from core.inbox import InboxEvent, InboxStatus
from core.settings import Settings
from tools.hris.simulator import SimulatedStream, simulate_stream
from tools.lms.scim import ScimLMS

EVENTS = 2000
"""Distinct HRIS events in the stream (about: the simulator is asked for the workforce that
makes this many): the scale-out goal's 2,000, about 4 minutes at the ~10 events/s that
several workers reach on this 2-core machine (the README's *Scale-out* has the times)."""
EVENTS_PER_EMPLOYEE = 1.55  # what the simulator's 26 weeks of HR life give on average
WORKER_PROCESSES = 3
SENDERS = 4
LEASE_S = 5.0  # a killed worker's claim is taken over this long after its last renewal
DRAIN_TIMEOUT_S = 3600.0
TERMINAL = {InboxStatus.applied, InboxStatus.stale}


def _stream() -> SimulatedStream:
    return simulate_stream(
        load_catalog(),
        employees=max(2, round(EVENTS / EVENTS_PER_EMPLOYEE)),
        seed=16,
        start=datetime.now(UTC) - timedelta(days=200),
    )


def _wait(condition: Callable[[], bool], timeout_s: float, what: str, why: Cluster) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        why.check_alive(killed=why.workers[:1])  # the first worker is the one killed
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.25)


def _claims_of(engine: Engine, process: Process) -> list[str]:
    """Receipts this worker process holds a live claim on (worker ids carry the pid)."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(InboxEvent.id).where(
                    InboxEvent.status == InboxStatus.processing,
                    col(InboxEvent.claimed_by).contains(f":{process.pid}:"),
                )
            )
        )


def _kill_while_holding_a_claim(cluster: Cluster, engine: Engine, after_applied: int) -> list[str]:
    """SIGKILL the first worker once ``after_applied`` events are applied, at a moment it
    holds a claim; returns the receipts it held."""
    victim = cluster.workers[0]
    _wait(
        lambda: inbox.status_counts(engine)["applied"] >= after_applied,
        DRAIN_TIMEOUT_S,
        f"{after_applied} applied events",
        cluster,
    )
    _wait(lambda: bool(_claims_of(engine, victim)), 120, "a claim to interrupt", cluster)
    cluster.kill(victim)
    held = _claims_of(engine, victim)
    # an event takes far longer than the instant between seeing the claim and the kill
    assert held, "the worker finished its event just before the SIGKILL"
    return held


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(DRAIN_TIMEOUT_S + 600)
def test_three_worker_processes_one_killed_lose_nothing_apply_once_keep_order(
    postgres_url: str, tmp_path: Path
) -> None:
    stream = _stream()
    sent_ids = {d.event.event_id for d in stream.deliveries}
    catalog = load_catalog()
    config = ClusterConfig(
        database_url=postgres_url,
        var_dir=tmp_path,
        worker_processes=WORKER_PROCESSES,
        lease_s=LEASE_S,
    )
    timings: dict[str, float] = {}
    began = time.monotonic()
    with Cluster(config) as cluster:
        timings["start-up s"] = time.monotonic() - began
        engine = make_engine(postgres_url)
        sent: list[SendReport] = []
        sender = threading.Thread(
            target=lambda: sent.append(
                send_stream(
                    stream.deliveries,
                    api_url=cluster.api_url,
                    secret=cluster.webhook_secret,
                    senders=SENDERS,
                )
            )
        )
        sender.start()
        interrupted = _kill_while_holding_a_claim(
            cluster, engine, after_applied=max(3, len(sent_ids) // 20)
        )
        sender.join()
        _wait(lambda: inbox.open_count(engine) == 0, DRAIN_TIMEOUT_S, "the inbox to drain", cluster)
        timings["stream s"] = time.monotonic() - sent[0].started
        survivors = [p for p in cluster.workers if p.alive()]
        assert len(survivors) == WORKER_PROCESSES - 1, [p.log_tail() for p in cluster.workers]

        lms = ScimLMS.from_settings(
            Settings(lms_url=cluster.lms_url, lms_token=SecretStr(cluster.lms_token))
        )
        report = compare_with_hris(stream.final, lms=lms, catalog=catalog)
        changes = httpx.get(  # accepted writes, a POST /Bulk counted by its operations
            f"{cluster.lms_root_url}/_sandbox/requests",
            headers={"authorization": f"Bearer {cluster.lms_token}"},
        ).json()["changes"]
        lms.close()
    print(f"\nscale-out: {len(sent_ids)} events, {len(stream.deliveries)} deliveries, {timings}")

    # every delivery was answered, and every distinct event id is one row, finished
    (delivered,) = sent
    assert delivered.refused == []
    assert delivered.accepted == sent_ids
    assert delivered.statuses[202] == len(sent_ids)
    with Session(engine) as session:
        rows = list(session.exec(select(InboxEvent)))
        audit_rows = session.exec(
            select(AuditEntry.receipt_id, AuditEntry.action, AuditEntry.seq).where(
                col(AuditEntry.action).in_([AuditAction.decision_made, AuditAction.lms_write])
            )
        ).all()
    engine.dispose()
    hris_rows = [r for r in rows if not r.event_id.startswith("refresh:")]
    assert Counter(r.event_id for r in hris_rows) == Counter(sent_ids)  # 0 lost, 0 doubled
    not_finished = [(r.event_id, r.status, r.last_error) for r in rows if r.status not in TERMINAL]
    assert not_finished == []  # none dead, none waiting
    by_receipt = {r.id: r for r in rows}
    for receipt in interrupted:  # the killed worker's event, taken over after its lease
        assert by_receipt[receipt].status in TERMINAL
        assert by_receipt[receipt].attempts >= 2

    # 0 applied twice: one decision per applied run, none for a stale one, one LMS write
    # at most; one account created per person the LMS holds
    decisions: dict[str, list[int]] = defaultdict(list)
    lms_writes: Counter[str] = Counter()
    for receipt_id, action, seq in audit_rows:
        if action == AuditAction.decision_made:
            decisions[str(receipt_id)].append(seq)
        else:
            lms_writes[str(receipt_id)] += 1
    applied = [r for r in rows if r.status == InboxStatus.applied]
    assert {r.id: len(decisions[r.id]) for r in applied} == {r.id: 1 for r in applied}
    assert set(decisions) == {r.id for r in applied}
    assert max(lms_writes.values(), default=0) <= 1
    assert changes.get("POST /Users", 0) == report.users  # one account created per person

    # order per employee: applied in the order they happened, the newest one last
    per_employee: dict[str, list[InboxEvent]] = defaultdict(list)
    for row in sorted(applied, key=lambda r: decisions[r.id][0]):
        per_employee[row.employee_external_id].append(row)
    newest = {
        ext: max(as_utc(r.occurred_at) for r in rows if r.employee_external_id == ext)
        for ext in per_employee
    }
    for ext, runs in per_employee.items():
        times = [as_utc(r.occurred_at) for r in runs]
        assert times == sorted(times), ext  # a manager refresh repeats the last time
        assert times[-1] == newest[ext], ext

    # and the LMS is what the HRIS says now: every person's account state and groups
    assert report.mismatches == []
    assert report.matching == len(stream.final)
