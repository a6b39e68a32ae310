"""Every endpoint with every role, with no token and with forged ones: zero unauthorised
successes, and no refusal of a caller who holds the role. A new endpoint fails this test
until it is classified below."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from core import api_keys
from core.api_keys import Role
from core.settings import Settings

ADMIN_KEY = "bootstrap-admin-key"
READERS = {"reviewer", "auditor", "admin", "admin_key"}
REVIEWERS = {"reviewer", "admin", "admin_key"}
AUDITORS = {"auditor", "admin", "admin_key"}
ADMINS = {"admin", "admin_key"}
PUBLIC = {"none", "forged_key", "forged_jwt", "reviewer", "auditor", "admin", "admin_key"}

# (method, path) -> callers allowed; webhooks are authenticated by signature, not bearer
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/livez"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,  # TALENTSYNC_METRICS_PUBLIC defaults to true
    ("GET", "/admin/inbox/counts"): ADMINS,
    ("GET", "/admin/inbox"): ADMINS,
    ("GET", "/admin/dead-letters"): ADMINS,
    ("POST", "/admin/dead-letters/{receipt_id}/replay"): ADMINS,
    ("DELETE", "/admin/employees/{external_id}"): ADMINS,
    ("GET", "/reviews"): READERS,
    ("GET", "/reviews/{review_id}"): READERS,
    ("POST", "/reviews/{review_id}/decision"): REVIEWERS,
    ("POST", "/reviews/decisions"): REVIEWERS,
    ("POST", "/reviews/{review_id}/reveal"): ADMINS,
    ("GET", "/audit"): AUDITORS,
    ("GET", "/audit/verify"): AUDITORS,
    ("GET", "/audit/search"): AUDITORS,
    ("GET", "/audit/{seq}"): AUDITORS,
}
SIGNED = {("POST", "/webhooks/{source}")}
PARAMS = {
    "{receipt_id}": "rcpt_missing",
    "{external_id}": "E404",
    "{review_id}": "rev_missing",
    "{seq}": "1",
}
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/reviews/{review_id}/decision"): {"type": "accept"},
    ("POST", "/reviews/decisions"): {"ids": ["rev_missing"], "response": {"type": "accept"}},
}
QUERY = {"/audit/search": {"q": "leadership programme"}}


def _forged_jwt() -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {"sub": "mallory", "roles": ["admin"], "exp": 4102444800}
    return f"{part({'alg': 'none', 'kid': 'x'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    tmp: Path = tmp_path_factory.mktemp("matrix")
    settings = Settings(
        var_dir=tmp,
        database_url=f"sqlite:///{tmp}/m.db",
        admin_api_key=SecretStr(ADMIN_KEY),
        oidc_jwks_url="http://127.0.0.1:9/jwks.json",  # configured, but the forgery has no key
        oidc_issuer="https://idp.example",
        oidc_audience="talentsync",
    )
    with TestClient(create_app(settings)) as client:
        engine = client.app.state.services.engine  # type: ignore[attr-defined]
        tokens = {
            name: api_keys.create_key(engine, name=f"{name}-1", role=role)[1]
            for name, role in (
                ("reviewer", Role.reviewer),
                ("auditor", Role.auditor),
                ("admin", Role.admin),
            )
        }
        tokens |= {
            "admin_key": ADMIN_KEY,
            "forged_key": "tsk_" + "A" * 43,
            "forged_jwt": _forged_jwt(),
        }
        yield client, tokens


def _endpoints(client: TestClient) -> set[tuple[str, str]]:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    return {(method.upper(), path) for path, ops in paths.items() for method in ops}


def test_every_endpoint_is_classified(setup: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = setup
    assert _endpoints(client) == set(ALLOWED) | SIGNED


@pytest.mark.parametrize("caller", sorted(PUBLIC))
def test_no_unauthorised_success_and_no_wrongful_refusal(
    setup: tuple[TestClient, dict[str, str]], caller: str
) -> None:
    client, tokens = setup
    headers = {"Authorization": f"Bearer {tokens[caller]}"} if caller in tokens else {}
    wrong: list[str] = []
    for (method, path), allowed in sorted(ALLOWED.items()):
        url = path
        for placeholder, value in PARAMS.items():
            url = url.replace(placeholder, value)
        response = client.request(
            method,
            url,
            headers=headers,
            json=BODIES.get((method, path)),
            params=QUERY.get(path),
        )
        refused = response.status_code in (401, 403)
        if caller in allowed and refused:
            wrong.append(f"{method} {path}: refused {response.status_code}")
        if caller not in allowed and not refused:
            wrong.append(f"{method} {path}: answered {response.status_code} to {caller}")
        if refused:
            assert response.headers["content-type"].startswith("application/problem+json")
    assert wrong == []
