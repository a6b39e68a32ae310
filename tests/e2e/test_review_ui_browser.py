"""The reviewer pages in a real browser: Debian's headless Chromium driven by Playwright
against uvicorn on an ephemeral port. A reviewer signs in, filters, opens a review and
approves it with the keyboard alone, then bulk-rejects two reviews; the page must not log
a single console error (a Content-Security-Policy violation would show up there)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.engine import Engine

from api.app import create_app
from core import reviews
from core.db import create_tables, make_engine
from tests.e2e.browser import ServerThread, needs_browser
from tests.review_ui_data import Parked, make_keys, park_review, ui_settings

if TYPE_CHECKING:
    from playwright.sync_api import Page

MIN_SCREENSHOT_BYTES = 20_000

pytestmark = [pytest.mark.slow, needs_browser]


@dataclass
class Site:
    url: str
    engine: Engine
    keys: dict[str, str]
    low: Parked
    injected: Parked
    termination: Parked


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    settings = ui_settings(tmp_path)
    engine = make_engine(settings.database_url)
    create_tables(engine)
    keys = make_keys(engine)
    low = park_review(engine, settings, 1, confidence=0.62)
    injected = park_review(
        engine,
        settings,
        2,
        rules=["prompt-injection"],
        flags=["prompt_injection"],
        confidence=0.31,
        created_hours_ago=5,
    )
    termination = park_review(
        engine,
        settings,
        3,
        rules=["termination"],
        before=["everyone", "site-berlin", "dept-clinical", "role-29-1141"],
        after=[],
        confidence=None,
        created_hours_ago=30,
    )
    with ServerThread(create_app(settings)) as server:
        yield Site(server.url, engine, keys, low, injected, termination)
    engine.dispose()


def tab_to(page: Page, script: str, *, limit: int = 80) -> None:
    """Press Tab until ``script`` (about ``document.activeElement``) holds: the way a
    keyboard user reaches a control."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!({script}); }}"):
            return
    raise AssertionError(f"Tab never reached: {script}")


def shown_ids(page: Page) -> set[str]:
    hrefs = page.eval_on_selector_all(
        "#queue tbody a[href^='/ui/reviews/rev_']", "els => els.map(e => e.getAttribute('href'))"
    )
    return {h.rsplit("/", 1)[-1] for h in hrefs}


def test_a_reviewer_filters_approves_by_keyboard_and_bulk_rejects(
    site: Site, page: Page, tmp_path: Path
) -> None:
    # sign in: the key field has focus, Enter submits
    page.goto(f"{site.url}/ui/reviews")
    assert "/ui/sign-in" in page.url
    page.keyboard.type(site.keys["ana"])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.url}/ui/reviews")
    assert shown_ids(page) == {site.low.id, site.injected.id, site.termination.id}

    # filter by rule: htmx swaps the table and pushes the URL
    page.fill("#f-rule", "prompt-injection")
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.search.includes('rule=prompt-injection')")
    page.wait_for_function("() => document.querySelectorAll('#queue tbody tr').length === 1")
    assert shown_ids(page) == {site.injected.id}
    page.fill("#f-rule", "")
    page.fill("#f-min", "0.5")
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.search.includes('min_confidence=0.5')")
    assert shown_ids(page) == {site.low.id}

    # open the review and approve it with Tab and Enter only
    tab_to(page, f"el.getAttribute('href') === '/ui/reviews/{site.low.id}'")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.url}/ui/reviews/{site.low.id}")
    assert page.locator(".diff li.added").count() == 2
    assert page.locator(".diff li.removed").count() == 1
    page.screenshot(path=str(tmp_path / "detail.png"))
    tab_to(page, "el.id === 'approve'")
    page.keyboard.press("Enter")
    banner = page.locator("#review .banner.ok")
    banner.wait_for()
    assert "Approved. The change is queued for the LMS." in banner.inner_text()
    assert page.evaluate("() => document.activeElement.classList.contains('banner')")
    assert page.locator("#review .badge").inner_text() == "approved"
    assert reviews.get_review(site.engine, review_id=site.low.id).status == "approved"

    # bulk: select the other two and reject them (accepting the confirmation)
    page.goto(f"{site.url}/ui/reviews")
    assert shown_ids(page) == {site.injected.id, site.termination.id}
    page.check(f"input[name=ids][value={site.injected.id}]")
    page.check(f"input[name=ids][value={site.termination.id}]")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#bulk-reject")
    page.locator("#queue .banner.ok").wait_for()
    assert "Rejected 2 of 2 selected reviews." in page.inner_text("#queue")
    for parked in (site.injected, site.termination):
        assert reviews.get_review(site.engine, review_id=parked.id).status == "rejected"
    assert shown_ids(page) == set()  # the pending queue is empty now
    assert "rejected 2" in page.inner_text("nav.counts").replace("\n", " ")

    page.goto(f"{site.url}/ui/reviews?status=any")
    screenshot = tmp_path / "queue.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > MIN_SCREENSHOT_BYTES
    assert (tmp_path / "detail.png").stat().st_size > MIN_SCREENSHOT_BYTES
