"""/livez, /readyz, /healthz and /metrics of the API: who sees what, and readiness failing
on a real missing schema and a real unreachable Chroma."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from core import inbox
from core.settings import Settings
from tests.factories import make_event

ADMIN = {"Authorization": "Bearer health-admin-key"}


def _settings(tmp: Path, **overrides: object) -> Settings:
    fields: dict[str, object] = {
        "var_dir": tmp,
        "database_url": f"sqlite:///{tmp}/health.db",
        "admin_api_key": SecretStr("health-admin-key"),
    }
    fields.update(overrides)
    return Settings(**fields)  # type: ignore[arg-type]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(tmp_path))) as test_client:
        yield test_client


def _closed_port() -> int:
    """A port nothing listens on: bound, read, released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_livez_and_readyz_answer_ok_when_everything_is_up(client: TestClient) -> None:
    assert client.get("/livez").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "schema": "ok", "chroma": "ok"}


def test_healthz_shows_counts_to_operators_only(client: TestClient) -> None:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    inbox.enqueue(engine, event=make_event())
    assert client.get("/healthz").json() == {"status": "ok"}
    forged = client.get("/healthz", headers={"Authorization": "Bearer tsk_" + "A" * 43})
    assert forged.status_code == 200 and forged.json() == {"status": "ok"}
    seen = client.get("/healthz", headers=ADMIN).json()
    assert seen["open_events"] == 1 and seen["inbox"]["pending"] == 1


def test_metrics_are_public_by_default_and_hold_the_queue(client: TestClient) -> None:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    inbox.enqueue(engine, event=make_event())
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'talentsync_inbox_events{status="pending"} 1.0' in response.text


def test_metrics_need_an_operator_when_not_public(tmp_path: Path) -> None:
    with TestClient(create_app(_settings(tmp_path, metrics_public=False))) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=ADMIN).status_code == 200


def test_readyz_names_an_unreachable_chroma(tmp_path: Path) -> None:
    settings = _settings(tmp_path, chroma_url=f"http://127.0.0.1:{_closed_port()}")
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == ["chroma"]
    assert "127.0.0.1" not in response.text  # a public probe names no host


def test_readyz_names_a_missing_schema(tmp_path: Path) -> None:
    with TestClient(create_app(_settings(tmp_path))) as client:
        (tmp_path / "health.db").unlink()  # SQLite makes an empty database on next connect
        client.app.state.services.engine.dispose()  # type: ignore[attr-defined]
        response = client.get("/readyz")
        assert response.status_code == 503
        errors = {e["field"]: e["reason"] for e in response.json()["errors"]}
        assert set(errors) == {"schema"}
        assert errors["schema"].startswith("empty")  # what the migrations say of it
        assert client.get("/livez").status_code == 200  # liveness does not care
