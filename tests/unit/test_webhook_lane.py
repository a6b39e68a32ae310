"""``api.webhook_lane``: deliveries answered ahead of FastAPI's routing get the route's very
answers, and everything the lane must not take still goes through FastAPI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook
from starlette.requests import Request
from starlette.responses import Response

from api.app import create_app
from api.request_text import refuse_nul_characters
from api.routes import webhooks
from api.webhook_lane import WebhookLane
from core import inbox
from core.settings import Settings
from tests.factories import make_employee, make_standard_body
from tools.hris.intake import WebhookIntake

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FORGED = "whsec_" + "A" * 32


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        var_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/api.db",
        webhook_secrets_standard=[SecretStr(SECRET)],
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def route_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Sources of the deliveries FastAPI's route answered (the lane calls the same body
    directly, not through the route)."""
    calls: list[str] = []
    answer = webhooks.answer_delivery

    async def counted(intake: WebhookIntake, source: str, request: Request) -> Response:
        calls.append(source)
        return await answer(intake, source, request)

    monkeypatch.setattr(webhooks, "answer_delivery", counted)
    return calls


def _delivery(
    msg_id: str,
    body: dict[str, Any] | bytes,
    *,
    secret: str = SECRET,
    skew: timedelta = timedelta(0),
    content_type: str = "application/json",
    drop: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent_at = datetime.now(UTC) + skew
    headers = {
        "content-type": content_type,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, sent_at, raw.decode("utf-8", "replace")),
    }
    if drop:
        del headers[drop]
    return raw, headers


def _bad_email() -> dict[str, Any]:
    data = make_employee().model_dump(mode="json")
    data["email"] = "ada@@example.com"
    return make_standard_body(data=data)


DELIVERIES: dict[str, dict[str, Any]] = {
    "accepted": {"body": make_standard_body()},
    "forged": {"body": make_standard_body(), "secret": FORGED},
    "stale": {"body": make_standard_body(), "skew": timedelta(minutes=-6)},
    "future": {"body": make_standard_body(), "skew": timedelta(minutes=6)},
    "no-signature": {"body": make_standard_body(), "drop": "webhook-signature"},
    "not-json-media": {"body": make_standard_body(), "content_type": "text/plain"},
    "undecodable": {"body": b'{"type": '},
    "nan": {"body": b'{"type": NaN}'},
    "nul-in-body": {"body": make_standard_body(type="employee.created\u0000")},
    "schema": {"body": make_standard_body(type="employee.promoted")},
    "bad-email": {"body": _bad_email()},
    "too-big": {"body": b"{" + b" " * (256 * 1024) + b"}"},
}


def _answer(client: TestClient, path: str, raw: bytes, headers: dict[str, str]) -> Any:
    response = client.post(path, content=raw, headers=headers)
    document = response.json()
    for volatile in ("receipt_id", "event_id"):  # each delivery has its own
        document.pop(volatile, None)
    return response.status_code, response.headers["content-type"], document


@pytest.mark.parametrize("case", DELIVERIES, ids=list(DELIVERIES))
def test_the_lane_answers_what_the_route_answers(
    client: TestClient, route_calls: list[str], case: str
) -> None:
    arguments = dict(DELIVERIES[case])
    body = arguments.pop("body")
    lane = _answer(client, "/webhooks/standard", *_delivery(f"msg_lane_{case}", body, **arguments))
    assert route_calls == []
    route = _answer(
        client, "/webhooks/standard?via=route", *_delivery(f"msg_route_{case}", body, **arguments)
    )
    assert route_calls == ["standard"]
    assert lane == route
    assert (lane[0] == 202) == (case == "accepted")


def test_a_duplicate_is_the_same_answer_either_way(
    client: TestClient, route_calls: list[str]
) -> None:
    raw, headers = _delivery("msg_twice", make_standard_body())
    first = client.post("/webhooks/standard", content=raw, headers=headers)
    by_lane = client.post("/webhooks/standard", content=raw, headers=headers)
    by_route = client.post("/webhooks/standard?via=route", content=raw, headers=headers)
    assert [first.status_code, by_lane.status_code, by_route.status_code] == [202, 200, 200]
    assert by_lane.json() == by_route.json() == {**first.json(), "status": "duplicate"}
    assert by_lane.headers["content-type"] == by_route.headers["content-type"]
    assert route_calls == ["standard"]
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    assert inbox.open_count(engine) == 1


def test_an_unknown_source_is_the_route_s_404(client: TestClient, route_calls: list[str]) -> None:
    raw, headers = _delivery("msg_unknown", make_standard_body())
    lane = _answer(client, "/webhooks/workday", raw, headers)
    route = _answer(client, "/webhooks/workday?via=route", raw, headers)
    assert lane == route and lane[0] == 404
    assert route_calls == ["workday"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/webhooks/stan%00dard", 422),  # refuse_nul_characters, not the lane
        ("/webhooks/standard/", 307),  # routing's slash redirect
        ("/webhooks/standard/extra", 404),
        ("/webhooks/", 404),
    ],
)
def test_what_the_lane_does_not_take_goes_through_fastapi(
    client: TestClient, route_calls: list[str], path: str, status: int
) -> None:
    raw, headers = _delivery("msg_elsewhere", make_standard_body())
    response = client.post(path, content=raw, headers=headers, follow_redirects=False)
    assert response.status_code == status
    assert route_calls == []
    assert client.get("/webhooks/standard").status_code == 405  # another method: routing's


def test_the_lane_skips_no_dependency_of_the_app() -> None:
    """The lane stands in for the app-wide dependencies by refusing to take what they would
    refuse; an app-wide dependency added later must be taught to the lane first."""
    app = create_app(Settings(database_url="sqlite://"))
    assert [d.dependency for d in app.router.dependencies] == [refuse_nul_characters]
    assert [getattr(m.cls, "__name__", None) for m in app.user_middleware] == [WebhookLane.__name__]
