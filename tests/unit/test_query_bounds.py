"""Every number a caller can put in a query or a path has a documented range, and a value
outside it is a 422 problem naming the parameter, not a 500 from whatever the number
reached (``timedelta``, SQLite's 64-bit integers, ``datetime.astimezone``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from core.settings import Settings
from tests.review_ui_data import make_keys

ADMIN_KEY = "bounds-admin-key"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp: Path = tmp_path_factory.mktemp("bounds")
    settings = Settings(
        var_dir=tmp, database_url=f"sqlite:///{tmp}/bounds.db", admin_api_key=SecretStr(ADMIN_KEY)
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _numeric_parameters(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                for option in schema.get("anyOf", [schema]):
                    if option.get("type") in ("integer", "number"):
                        yield f"{method.upper()} {path}", parameter["name"], option


def test_every_numeric_parameter_documents_both_bounds(client: TestClient) -> None:
    document = client.app.openapi()  # type: ignore[attr-defined]
    found = list(_numeric_parameters(document))
    assert len(found) >= 12  # limits, confidences, hours, k, after, seq
    unbounded = [
        f"{operation} {name}"
        for operation, name, schema in found
        if not {"minimum", "exclusiveMinimum"} & set(schema)
        or not {"maximum", "exclusiveMaximum"} & set(schema)
    ]
    assert unbounded == []


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/reviews?older_than_hours=1.8e7", "older_than_hours"),  # was an OverflowError
        ("/reviews?older_than_hours=inf", "older_than_hours"),
        ("/reviews?older_than_hours=nan", "older_than_hours"),
        ("/reviews?min_confidence=nan", "min_confidence"),
        ("/reviews?limit=100000000000000000000", "limit"),
        (f"/audit?after={2**63}", "after"),  # past SQLite's integers: an OverflowError
        (f"/audit?format=csv&limit={10**9 + 1}", "limit"),
        (f"/audit/{2**63}", "seq"),
        ("/audit/0", "seq"),
        ("/audit?since=0001-01-01T00:00:00%2B14:00", "since"),  # year 0 in UTC: a 500
        ("/audit?until=9999-12-31T23:59:59-14:00", "until"),  # year 10000 in UTC
        ("/audit/search?q=why&since=0001-01-01T00:00:00%2B01:00", "since"),
        ("/audit/search?q=why&k=51", "k"),
        ("/admin/inbox?limit=1001", "limit"),
        ("/admin/dead-letters?limit=0", "limit"),
    ],
)
def test_an_out_of_range_number_is_a_422_naming_the_parameter(
    client: TestClient, url: str, field: str
) -> None:
    response = client.get(url, headers=ADMIN)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == [field]
    assert problem["errors"][0]["reason"] and "Value error" not in problem["detail"]


def test_since_and_until_compare_whatever_their_offsets(client: TestClient) -> None:
    """A naive ``since`` against an aware ``until`` was a TypeError in the filter (a 500)."""
    response = client.get(
        "/audit",
        params={"since": "2026-01-01T00:00:00", "until": "2026-01-02T00:00:00+01:00"},
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text
    backwards = client.get(
        "/audit",
        params={"since": "2026-01-02T00:00:00", "until": "2026-01-01T00:00:00+01:00"},
        headers=ADMIN,
    )
    assert backwards.status_code == 422
    assert "since must be before until" in backwards.json()["detail"]


def test_the_largest_documented_values_are_answered(client: TestClient) -> None:
    for url in (
        "/reviews?older_than_hours=8760",
        f"/audit?after={2**63 - 1}",
        f"/audit?format=jsonl&limit={10**9}",
    ):
        assert client.get(url, headers=ADMIN).status_code == 200, url
    assert client.get(f"/audit/{2**63 - 1}", headers=ADMIN).status_code == 404


def test_the_review_page_drops_out_of_range_numbers_instead_of_failing(
    client: TestClient,
) -> None:
    """The page is lenient by design (it keeps the other filters and says what it
    ignored); it must answer, never fail, whatever the number."""
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    key = make_keys(engine)["ana"]
    form = client.get("/ui/sign-in")
    token = re.search(r'name="form_token" value="([^"]+)"', form.text)
    assert token is not None
    signed_in = client.post(
        "/ui/sign-in",
        data={"form_token": token.group(1), "credential": key, "next": "/ui/reviews"},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    for params in (
        {"older_than_hours": "1.8e7"},
        {"older_than_hours": "inf"},
        {"min_confidence": "nan"},
        {"max_confidence": "1e999"},
    ):
        page = client.get("/ui/reviews", params=params)
        assert page.status_code == 200, params
        assert page.headers["content-type"].startswith("text/html")
    client.cookies.clear()
