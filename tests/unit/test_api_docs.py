"""/docs and /redoc work offline: every script, style and icon they load is served by the
service itself (Swagger UI and ReDoc from a CDN left a blank page without internet)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings

ASSET = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    """No lifespan: the docs pages need no database, workers or keys."""
    return TestClient(create_app(Settings(var_dir=tmp_path)))


@pytest.mark.parametrize(("page", "script"), [("/docs", "swagger-ui"), ("/redoc", "redoc")])
def test_docs_pages_load_nothing_from_another_host(
    client: TestClient, page: str, script: str
) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert "cdn." not in html and "fonts.googleapis" not in html
    assets = [a or b for a, b in ASSET.findall(html)]
    assert any(script in asset for asset in assets), assets
    for asset in assets:
        assert asset.startswith("/") and not asset.startswith("//"), asset
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 200, asset
    assert "/openapi.json" in assets


def test_swagger_ui_does_not_send_the_api_to_a_public_validator(client: TestClient) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


def test_the_redoc_bundle_served_here_names_no_outside_asset(client: TestClient) -> None:
    bundle = client.get("/redoc-assets/redoc.standalone.js")
    assert bundle.status_code == 200
    assert "cdn.redoc.ly" not in bundle.text
    assert client.get("/redoc-assets/badge.svg").headers["content-type"] == "image/svg+xml"
