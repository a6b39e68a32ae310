"""/docs and /redoc render in a real headless Chromium from the service alone: every request
the pages make goes to the service (Swagger UI from a CDN was a blank page offline)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from api.app import create_app
from core.settings import Settings
from tests.e2e.browser import ServerThread, needs_browser

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120), needs_browser]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    with ServerThread(create_app(Settings(var_dir=tmp_path))) as running:
        yield running


@pytest.mark.parametrize(
    ("path", "rendered"),
    [("/docs", ".opblock-summary"), ("/redoc", "[data-section-id^='operation/']")],
)
def test_the_api_docs_render_with_nothing_from_outside(
    page: Page, server: ServerThread, path: str, rendered: str
) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(server.url + path)
    page.wait_for_selector(rendered)
    assert page.locator(rendered).count() > 10  # every route, not an empty shell
    local = (server.url, f"blob:{server.url}", "data:")  # ReDoc's worker and inline images
    assert [url for url in requests if not url.startswith(local)] == []
