"""The whole loop in a real browser: four hires whose titles the AI is unsure of wait for
review; a reviewer signs in with an API key, approves one on its page, edits another to a
different role and bulk-rejects the other two; workers (a fresh set, as after a restart)
resume the runs; the SCIM server then holds the approved person's groups, exactly the
edited person's groups the review page shows as applied, and nothing for the rejected."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr

from agents.policy.rules import DEFAULT_POLICY
from agents.runtime.workers import open_workers
from api.app import create_app
from core import api_keys, inbox, reviews
from core.api_keys import Role
from core.catalog import load_catalog
from core.db import make_engine
from core.reviews import ReviewFilter
from core.schema import create_tables
from tests.e2e.browser import ServerThread, keep_screenshot, needs_browser
from tests.factories import make_employee, make_event, make_worker_settings
from tools.lms.sandbox import SandboxServer
from tools.lms.scim import ScimLMS

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.slow, needs_browser]
TOKEN = "sandbox-token"
NURSE = "role-29-1141"
PRACTITIONER = "role-29-1171"
HIRED = datetime(2026, 10, 1, tzinfo=UTC)


def test_approve_one_edit_one_bulk_reject_two_then_the_lms_holds_exactly_that(
    page: Page, tmp_path: Path
) -> None:
    with SandboxServer(load_catalog(), token=TOKEN) as sandbox:
        settings = make_worker_settings(
            database_url=f"sqlite:///{tmp_path}/flow.db",
            var_dir=tmp_path,
            lms_url=sandbox.base_url,
            lms_token=SecretStr(TOKEN),
            review_policy_path=DEFAULT_POLICY,
            ai_auto_apply_confidence=0.99,
        )
        engine = make_engine(settings.database_url)
        create_tables(engine)
        nurses = [make_employee(job_code=None, title="Registered Nurse") for _ in range(4)]
        for person in nurses:
            inbox.enqueue(
                engine, event=make_event(person, occurred_at=datetime(2026, 10, 1, tzinfo=UTC))
            )
        with open_workers(settings, engine, count=1) as (worker,):
            worker.drain(timeout_s=60)
        waiting = reviews.list_reviews(engine, where=ReviewFilter())
        assert len(waiting) == 4
        by_receipt = {r.receipt_id: r for r in waiting}
        review_of = {
            p.external_id: by_receipt[row.id]
            for p in nurses
            for row in inbox.list_by_status(engine, status=inbox.InboxStatus.awaiting_review)
            if row.employee_external_id == p.external_id
        }
        approved, edited, *rejected = nurses
        key = api_keys.create_key(engine, name="ana", role=Role.reviewer)[1]

        with ServerThread(create_app(settings)) as server:
            page.goto(f"{server.url}/ui/reviews")
            page.keyboard.type(key)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{server.url}/ui/reviews")
            page.goto(f"{server.url}/ui/reviews/{review_of[approved.external_id].id}")
            page.click("#approve")
            page.locator("#review .banner.ok").wait_for()

            # the edit: the AI's role out, another one in, then approve with these groups
            edited_review = review_of[edited.external_id].id
            page.goto(f"{server.url}/ui/reviews/{edited_review}")
            assert page.inner_text("p.triage").endswith("Proposed role: Role: Registered Nurses")
            page.click("details.edit summary")
            page.uncheck(f"details.edit input[name=groups][value={NURSE}]")
            page.select_option("#more-groups", PRACTITIONER)
            page.click("details.edit button[type=submit]")
            page.locator("#review .banner.ok").wait_for()

            page.goto(f"{server.url}/ui/reviews")
            for person in rejected:
                page.check(f"input[name=ids][value={review_of[person.external_id].id}]")
            page.once("dialog", lambda dialog: dialog.accept())
            page.click("#bulk-reject")
            page.locator("#queue .banner.ok").wait_for()
            page.goto(f"{server.url}/ui/reviews?status=any")
            shot = keep_screenshot(page, tmp_path / "queue-after-decisions.png", full_page=True)
            assert shot.stat().st_size > 20_000

            with open_workers(settings, engine, count=1) as (worker,):  # after a restart
                worker.drain(timeout_s=60)

            page.goto(f"{server.url}/ui/reviews/{edited_review}")
            keep_screenshot(page, tmp_path / "edited-review.png", full_page=True)
            panel = page.locator("section[aria-labelledby=h-change] > ul.diff")
            shown_applied = set(panel.locator("li.added code, li.kept code").all_inner_texts())
            assert "with the groups ana chose" in page.inner_text("#h-change")

        lms = ScimLMS.from_settings(settings)
        user = lms.find_user(approved.external_id)
        assert user is not None and user.active
        by_id = {g.id: ext for ext, g in lms.groups().items()}
        assert NURSE in {by_id[g] for g in lms.member_group_ids(user.id)}
        edited_user = lms.find_user(edited.external_id)
        assert edited_user is not None
        in_lms = {by_id[g] for g in lms.member_group_ids(edited_user.id)}
        assert PRACTITIONER in in_lms and NURSE not in in_lms
        assert in_lms == shown_applied  # the page shows what the LMS got, not the proposal
        for person in rejected:
            assert lms.find_user(person.external_id) is None
        engine.dispose()
