"""Every refusal is a problem document, routing's own 404/405 included, and the OpenAPI
document says so: problems as ``application/problem+json`` with their schema, and
401/403 on every route that takes credentials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from core.settings import Settings
from tests.unit.test_authorization_matrix import ALLOWED, PUBLIC

ADMIN = {"Authorization": "Bearer openapi-admin-key"}
PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp: Path = tmp_path_factory.mktemp("openapi")
    settings = Settings(
        var_dir=tmp,
        database_url=f"sqlite:///{tmp}/openapi.db",
        admin_api_key=SecretStr("openapi-admin-key"),
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def document(client: TestClient) -> dict[str, Any]:
    served: dict[str, Any] = client.get("/openapi.json").json()
    return served


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_an_unknown_path_is_a_404_problem(client: TestClient) -> None:
    problem = _problem(client.get("/no/such/thing", headers=ADMIN), 404)
    assert problem["title"] == "Not Found"
    assert "/no/such/thing" not in problem["detail"]  # the caller's path is not echoed


def test_a_wrong_method_is_a_405_problem_that_keeps_allow(client: TestClient) -> None:
    response = client.delete("/audit/verify", headers=ADMIN)
    problem = _problem(response, 405)
    assert response.headers["allow"] == "GET"
    assert problem["detail"] == "DELETE is not allowed here; allowed: GET"
    _problem(client.post("/healthz"), 405)


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"\x9e not utf-8", 400), (b'{"ids": [', 422)],
    ids=["undecodable-bytes", "broken-json"],
)
def test_an_unparsable_json_body_is_a_problem_on_body(
    client: TestClient, body: bytes, status: int
) -> None:
    """FastAPI answers bytes it cannot decode with a 400 of its own (an HTTPException, so
    plain JSON until now) and broken JSON with a 422 that named the field "0"."""
    response = client.post(
        "/reviews/decisions", content=body, headers={**ADMIN, "content-type": "application/json"}
    )
    problem = _problem(response, status)
    assert [e["field"] for e in problem["errors"]] == ["body"]


def test_every_error_response_is_documented_as_a_problem(document: dict[str, Any]) -> None:
    wrong = [
        f"{label} {status}"
        for label, operation in _operations(document)
        for status, response in operation["responses"].items()
        if status[0] in "45"
        and response.get("content") != {"application/problem+json": {"schema": PROBLEM_SCHEMA}}
    ]
    assert wrong == []
    schemas = document["components"]["schemas"]
    assert {"Problem", "FieldProblem"} <= set(schemas)
    assert "HTTPValidationError" not in schemas  # FastAPI's 422 shape is not what we send


def test_every_protected_route_documents_401_and_403(document: dict[str, Any]) -> None:
    protected = {f"{method} {path}" for (method, path), who in ALLOWED.items() if who != PUBLIC}
    secured = {label for label, operation in _operations(document) if operation.get("security")}
    assert secured == protected  # every route that takes credentials says so
    missing = [
        f"{label} {status}"
        for label, operation in _operations(document)
        if label in protected
        for status in ("401", "403")
        if status not in operation["responses"]
    ]
    assert missing == []
    erase = document["paths"]["/admin/employees/{external_id}"]["delete"]
    assert "WWW-Authenticate" in erase["responses"]["401"]["headers"]


def test_the_webhook_route_documents_its_sources_body_and_refusals(
    document: dict[str, Any],
) -> None:
    webhook = document["paths"]["/webhooks/{source}"]["post"]
    assert webhook["parameters"][0]["schema"]["enum"] == ["standard", "bamboohr", "merge"]
    assert "application/json" in webhook["requestBody"]["content"]
    assert {"400", "401", "404", "413", "415", "422"} <= set(webhook["responses"])
    assert "security" not in webhook  # signed, not bearer
