"""Operations against the real thing: /metrics scraped from the API while a worker
provisions into the SCIM sandbox, the JSON log of real runs, the worker's probe port over
running worker threads, and /readyz when the database really is gone."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from agents.runtime.liveness import HEARTBEATS
from agents.runtime.probes import serving_probes
from agents.runtime.workers import open_workers, running_workers
from api.app import create_app
from api.cli.output import configure_logging
from core.catalog import load_catalog
from tests.database_roles import POSTGRES_ADMIN_URL
from tests.factories import make_employee, make_event, make_worker_settings
from tests.harness import SANDBOX_TOKEN, WorkerHarness, sandbox_and_settings
from tools.lms.sandbox import SandboxServer

REPO = Path(__file__).resolve().parents[2]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass
class Harness(WorkerHarness):
    sandbox: SandboxServer


@pytest.fixture
def harness(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[Harness]:
    rig = sandbox_and_settings(database_url=database_url, var_dir=tmp_path)
    with rig as (sandbox, settings), open_workers(settings, engine, count=1) as (worker,):
        yield Harness(engine, worker, settings, sandbox=sandbox)


def _scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _served(sandbox: SandboxServer) -> Counter[str]:
    """Requests the SCIM sandbox answered, by method."""
    log = httpx.get(f"{sandbox.root_url}/_sandbox/requests").json()
    return Counter(log["requests"])


def _sum(samples: Samples, name: str, **labels: str) -> float:
    """A metric's samples added up over every label set that includes ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def test_metrics_move_as_events_are_queued_and_applied(harness: Harness) -> None:
    with TestClient(create_app(harness.settings)) as api:
        before = _scrape(api)
        for _ in range(2):
            harness.enqueue(make_event())
        queued = _scrape(api)
        assert queued[("talentsync_inbox_events", (("status", "pending"),))] == 2
        assert queued[("talentsync_inbox_oldest_open_age_seconds", ())] > 0

        served_before = _served(harness.sandbox)
        harness.drain()
        served = _served(harness.sandbox) - served_before
        after = _scrape(api)

    def grew(name: str, **labels: str) -> float:
        return _sum(after, name, **labels) - _sum(before, name, **labels)

    assert grew("talentsync_events_processed_total", outcome="applied") == 2
    assert grew("talentsync_run_duration_seconds_count") == 2
    assert grew("talentsync_node_duration_seconds_count", node="assess") == 2
    assert grew("talentsync_node_duration_seconds_count", node="batch_apply") == 1  # together
    assert grew("talentsync_node_duration_seconds_count", node="map_title") == 0  # rules placed
    # every request the LMS served is one sample, by method; the two hires' users are
    # created in one POST /Bulk, their memberships added in another
    lms = "talentsync_lms_request_duration_seconds_count"
    assert served and all(grew(lms, method=m) == n for m, n in served.items()), served
    assert grew(lms, method="POST", resource="Users") == 0
    assert grew(lms, method="POST", resource="Bulk", status="200") == 2
    assert grew("talentsync_lms_request_duration_seconds_sum") > 0
    assert after[("talentsync_inbox_events", (("status", "pending"),))] == 0
    assert after[("talentsync_inbox_events", (("status", "applied"),))] == 2
    assert after[("talentsync_inbox_oldest_open_age_seconds", ())] == 0
    assert after[("talentsync_database_up", ())] == 1


@pytest.fixture
def json_log(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """The root logger as `talentsync worker` configures it with TALENTSYNC_LOG_FORMAT=json,
    put back afterwards."""
    handlers, level = logging.root.handlers[:], logging.root.level
    yield capsys
    logging.root.handlers[:], logging.root.level = handlers, level
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.NOTSET)


def test_every_log_line_of_a_run_is_json_with_its_ids_and_no_personal_value(
    harness: Harness, json_log: pytest.CaptureFixture[str]
) -> None:
    person = make_employee(
        external_id="E-ZQ-4711",
        given_name="Zebulon",
        family_name="Quackenbush",
        email="zebulon.quackenbush@example.com",
    )
    configure_logging(harness.settings.model_copy(update={"log_format": "json"}))
    json_log.readouterr()
    # one refusal on the first write, so the run logs an LMS retry as well
    httpx.post(
        f"{harness.sandbox.root_url}/_sandbox/faults",
        json={"status": 503, "count": 1, "methods": ["POST"]},
    ).raise_for_status()
    receipt = harness.enqueue(make_event(person))
    harness.drain()

    lines = [line for line in json_log.readouterr().err.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    ours = [r for r in records if not r["logger"].startswith("tools.lms.sandbox")]
    assert any("retry" in r["message"] for r in ours)  # the LMS refusal was logged
    assert any(receipt in r["message"] and "applied" in r["message"] for r in ours)
    assert ours and all(r["receipt_id"] == receipt for r in ours)
    assert len({r["run_id"] for r in ours}) == 1
    assert all(r["subject"] and r["subject"] != person.external_id for r in ours)
    assert all({"timestamp", "level", "logger", "message"} <= set(r) for r in ours)
    text = "\n".join(lines).lower()
    for personal in ("zebulon", "quackenbush", "e-zq-4711", "zebulon.quackenbush@example.com"):
        assert personal not in text, personal


def test_the_worker_probe_port_sees_running_worker_threads(harness: Harness) -> None:
    services = harness.worker.services
    with (
        serving_probes("127.0.0.1", 0, max_age_s=60) as server,
        running_workers(services, count=2),
    ):
        url = f"http://127.0.0.1:{server.server_port}"
        deadline = time.monotonic() + 10
        while HEARTBEATS.running() < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        livez = httpx.get(f"{url}/livez")
        metrics = httpx.get(f"{url}/metrics").text
    assert livez.status_code == 200
    assert livez.json()["worker_threads"] == 2
    assert "talentsync_worker_heartbeat_age_seconds" in metrics
    assert HEARTBEATS.running() == 0  # stopped threads leave no stale beat behind


def _make_unreachable(database_url: str) -> None:
    """Take the database away for real: SQLite's file becomes a directory it cannot open;
    PostgreSQL's database is dropped with its connections."""
    if database_url.startswith("sqlite"):
        path = Path(database_url.split("///", 1)[1])
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
        path.mkdir()
        return
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_readyz_is_503_naming_the_database_when_it_is_gone(
    database_url: str, tmp_path: Path
) -> None:
    # no LMS and no worker here: readiness is about the database and Chroma
    settings = make_worker_settings(
        database_url=database_url, var_dir=tmp_path, lms_url="http://127.0.0.1:9/v2"
    )
    with TestClient(create_app(settings)) as api:
        assert api.get("/readyz").status_code == 200
        api.app.state.services.engine.dispose()  # type: ignore[attr-defined]
        _make_unreachable(database_url)
        response = api.get("/readyz")
        assert api.get("/livez").status_code == 200  # the process itself is fine
        metrics = api.get("/metrics")
    assert response.status_code == 503
    assert [e["field"] for e in response.json()["errors"]] == ["database"]
    assert "talentsync_database_up 0.0" in metrics.text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.slow
def test_a_worker_process_serves_its_probes_and_refuses_a_taken_port(tmp_path: Path) -> None:
    """`talentsync worker --metrics-port P` as a process: /livez counts its threads once they
    run, /metrics answers, a second worker on the same port exits naming the option, and
    SIGTERM stops the first cleanly."""
    port = _free_port()
    with SandboxServer(load_catalog(), token=SANDBOX_TOKEN) as sandbox:
        env = {
            **os.environ,
            "TALENTSYNC_DATABASE_URL": f"sqlite:///{tmp_path}/w.db",
            "TALENTSYNC_VAR_DIR": str(tmp_path),
            "TALENTSYNC_LMS_URL": sandbox.base_url,
            "TALENTSYNC_LMS_TOKEN": SANDBOX_TOKEN,
            "TALENTSYNC_LOG_FORMAT": "json",
        }
        command = [sys.executable, "-m", "api.cli", "worker", "--threads", "2"]
        log = tmp_path / "worker.log"
        first = subprocess.Popen(
            [*command, "--metrics-port", str(port)],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )
        try:
            livez: dict[str, object] = {}
            deadline = time.monotonic() + 180  # services load before the threads start
            while livez.get("worker_threads") != 2 and time.monotonic() < deadline:
                assert first.poll() is None, log.read_text()
                with contextlib.suppress(httpx.TransportError):
                    livez = httpx.get(f"http://127.0.0.1:{port}/livez").json()
                time.sleep(0.2)
            assert livez["status"] == "ok" and livez["worker_threads"] == 2
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            assert "talentsync_worker_heartbeat_age_seconds" in metrics

            second = subprocess.run(
                [*command, "--metrics-port", str(port)],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert second.returncode == 1
            assert f"metrics port {port}" in second.stderr and "--metrics-port" in second.stderr
        finally:
            first.send_signal(signal.SIGTERM)
            first.wait(timeout=60)
        stderr = log.read_text()
        assert first.returncode == 0, stderr
        # its log is JSON lines, whatever the command printed besides
        logged = [line for line in stderr.splitlines() if line.startswith("{")]
        assert logged and all(json.loads(line)["level"] for line in logged)
