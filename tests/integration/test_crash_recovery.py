"""A worker process killed with SIGKILL mid-run: its successor resumes from the LangGraph
checkpoint and every event ends applied exactly once, as read back from the SCIM server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core import inbox
from core.catalog import load_catalog
from core.employee import Employee, EventType
from core.inbox import InboxEvent, InboxStatus
from core.settings import Settings
from tests.factories import NO_REVIEW_POLICY, make_employee, make_event
from tools.lms.sandbox import SandboxServer
from tools.lms.scim import ScimLMS
from tools.mapping.rules import RulesMapper

TOKEN = "crash-token"
T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


def _wait(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker", "--threads", "2", "--metrics-port", "0"],
        env=env,
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _kill_a_worker_mid_run(engine: Engine, env: dict[str, str], log: Path) -> list[str]:
    """SIGKILL a worker while it holds an event; returns the receipts it left in flight.

    The run may finish in the instant before the signal lands, so try again until a kill
    really interrupts one (each try kills a fresh worker that has already applied events).
    """
    for _ in range(5):
        applied = inbox.status_counts(engine)["applied"]
        worker = _start_worker(env, log)
        try:

            def a_few_applied(applied: int = applied) -> bool:
                return inbox.status_counts(engine)["applied"] >= applied + 3

            _wait(a_few_applied, 120, "a few applies")
            _wait(lambda: inbox.status_counts(engine)["processing"] >= 1, 30, "work in flight")
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        finally:
            if worker.poll() is None:
                worker.kill()
        with Session(engine) as session:
            in_flight = list(
                session.exec(select(InboxEvent.id).where(InboxEvent.status == "processing"))
            )
        if in_flight:
            return in_flight
    raise AssertionError("five SIGKILLs in a row missed every run")


@pytest.mark.slow
def test_sigkill_mid_run_then_restart_applies_every_event_exactly_once(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    catalog = load_catalog()
    mapper = RulesMapper(catalog)
    people = [make_employee() for _ in range(30)]
    movers = {
        p.external_id: p.model_copy(update={"job_code": "13-2011.00", "department": "Finance"})
        for p in people[:10]
    }
    for person in people:
        inbox.enqueue(engine, event=make_event(person, occurred_at=T0))
    moved: Employee | None  # each mover here; later, whether a person moved
    for moved in movers.values():
        inbox.enqueue(
            engine,
            event=make_event(moved, type=EventType.updated, occurred_at=T0 + timedelta(days=3)),
        )
    total = len(people) + len(movers)

    with SandboxServer(catalog, token=TOKEN) as sandbox:
        env = {
            **os.environ,
            "TALENTSYNC_DATABASE_URL": database_url,
            "TALENTSYNC_VAR_DIR": str(tmp_path),
            "TALENTSYNC_LMS_URL": sandbox.base_url,
            "TALENTSYNC_LMS_TOKEN": TOKEN,
            "TALENTSYNC_WORKER_LEASE_S": "2",
            "TALENTSYNC_WORKER_POLL_S": "0.05",
            "TALENTSYNC_LOG_LEVEL": "INFO",
            "TALENTSYNC_REVIEW_POLICY_PATH": str(NO_REVIEW_POLICY),  # about crashes, not review
        }
        log = tmp_path / "worker.log"
        httpx.put(f"{sandbox.root_url}/_sandbox/latency", json={"seconds": 0.02}).raise_for_status()
        interrupted = _kill_a_worker_mid_run(engine, env, log)
        httpx.put(f"{sandbox.root_url}/_sandbox/latency", json={"seconds": 0}).raise_for_status()
        assert inbox.status_counts(engine)["applied"] < total, "the kill must leave work undone"

        second = _start_worker(env, log)
        try:
            _wait(lambda: inbox.open_count(engine) == 0, 180, "the inbox to drain")
        finally:
            second.terminate()
            second.wait(timeout=30)

        counts = inbox.status_counts(engine)
        assert counts["applied"] == total, (counts, log.read_text()[-3000:])
        for receipt in interrupted:
            row = inbox.get(engine, receipt_id=receipt)
            assert row is not None and row.status == InboxStatus.applied
            assert row.attempts >= 2  # claimed by the killed worker, finished by its successor

        lms = ScimLMS.from_settings(Settings(lms_url=sandbox.base_url, lms_token=SecretStr(TOKEN)))
        by_scim_id = {g.id: ext for ext, g in lms.groups().items()}
        for person in people:
            final = movers.get(person.external_id, person)
            user = lms.find_user(person.external_id)
            assert user is not None and user.active
            groups = {by_scim_id[g] for g in lms.member_group_ids(user.id)}
            assert groups == set(mapper.map(final, manages_others=False).group_ids)

        writes = httpx.get(f"{sandbox.root_url}/_sandbox/requests").json()["changes"]
        assert writes.get("POST /Users", 0) == len(people)

        expected_patches = 0
        for person in people:
            first_groups = set(mapper.map(person, manages_others=False).group_ids)
            expected_patches += len(first_groups)
            moved = movers.get(person.external_id)
            if moved is not None:
                moved_groups = set(mapper.map(moved, manages_others=False).group_ids)
                expected_patches += len(moved_groups ^ first_groups)
        assert writes.get("PATCH /Groups/{id}", 0) == expected_patches
