"""The reviewer pages over HTTP against the real app: sign-in cookie, queue and filters,
the detail view, decisions through the page changing the review as ``core.reviews`` says,
the auditor's read-only access, the forgery checks, and no personal data on any page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.ui.present import markdown_lite
from core import api_keys, inbox, reviews
from core.db import make_engine
from core.inbox import InboxStatus
from core.schema import create_tables
from tests.review_ui_client import HX, World, open_world, post, sign_in, signed_in
from tests.review_ui_data import (
    NURSE,
    PRACTITIONER,
    make_keys,
    personal_data,
    ui_settings,
)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with open_world(tmp_path) as opened:
        yield opened


# --- signing in -----------------------------------------------------------------------------


def test_sign_in_sets_a_strict_http_only_cookie_and_returns_to_the_page(world: World) -> None:
    first = world.client.get("/ui/reviews?status=any", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"].startswith("/ui/sign-in?next=%2Fui%2Freviews%3Fstatus%3Dany")

    response = sign_in(world.client, world.keys["ana"], next_path="/ui/reviews?status=any")

    assert response.status_code == 303
    assert response.headers["location"] == "/ui/reviews?status=any"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("talentsync_ui=")
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert "Secure" not in cookie  # plain http here; see the https test below
    page = world.client.get("/ui/reviews")
    assert page.status_code == 200
    assert "Signed in as <strong>ana</strong> (reviewer)" in page.text


def test_the_cookie_is_secure_over_https(tmp_path: Path) -> None:
    settings = ui_settings(tmp_path)
    engine = make_engine(settings.database_url)
    create_tables(engine)
    keys = make_keys(engine)
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        response = sign_in(client, keys["ana"])
    engine.dispose()
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("talentsync_ui=")
    )
    assert "Secure" in cookie


def test_wrong_credentials_and_forged_sign_in_forms_are_refused_in_words(world: World) -> None:
    wrong = sign_in(world.client, "tsk_not-a-real-key")
    assert wrong.status_code == 401
    assert "Sign-in refused: unknown API key." in wrong.text
    assert "talentsync_ui=" not in " ".join(wrong.headers.get_list("set-cookie"))

    world.client.cookies.clear()  # another site's form: no sign-in cookie to match
    forged = world.client.post(
        "/ui/sign-in",
        data={"form_token": "x", "credential": world.keys["ana"]},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert "The sign-in form had expired" in forged.text

    evil = sign_in(world.client, world.keys["ana"], next_path="https://evil.example/")
    assert evil.headers["location"] == "/ui/reviews"  # no open redirect


def test_a_revoked_key_ends_the_browser_session(world: World) -> None:
    signed_in(world, "ana")
    api_keys.revoke_key(world.engine, name="ana")

    page = world.client.get("/ui/reviews", follow_redirects=False)
    assert page.status_code == 303
    assert "expired=1" in page.headers["location"]
    assert 'talentsync_ui=""' in page.headers["set-cookie"]  # cleared
    htmx = world.client.get("/ui/reviews", headers=HX, follow_redirects=False)
    assert htmx.status_code == 401
    assert htmx.headers["hx-redirect"].startswith("/ui/sign-in")


def test_sign_out_needs_the_page_token_and_clears_the_cookie(world: World) -> None:
    csrf = signed_in(world, "ana")
    refused = world.client.post("/ui/sign-out", follow_redirects=False)
    assert refused.status_code == 403

    out = world.client.post("/ui/sign-out", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert world.client.get("/ui/reviews", follow_redirects=False).status_code == 303


# --- the queue ------------------------------------------------------------------------------


def test_the_queue_shows_counts_per_status_and_filters(world: World) -> None:
    low = world.park(1, confidence=0.62)
    injected = world.park(
        2,
        rules=["prompt-injection"],
        flags=["prompt_injection"],
        required_approvals=2,
        confidence=0.3,
    )
    old = world.park(3, rules=["termination"], confidence=None, created_hours_ago=30)
    rejected = world.park(4)
    reviews.decide(
        world.engine,
        review_id=rejected.id,
        reviewer="bo",
        response={"type": "ignore", "args": None},
        catalog_ids=[],
    )
    signed_in(world, "ana")

    def shown(**params: str) -> set[str]:
        page = world.client.get("/ui/reviews", params=params)
        assert page.status_code == 200, page.text
        return set(re.findall(r'href="/ui/reviews/(rev_[0-9a-f]+)"', page.text))

    page = world.client.get("/ui/reviews").text
    assert re.search(r'pending <span class="count">3</span>', page)
    assert re.search(r'rejected <span class="count">1</span>', page)
    assert re.search(r'all <span class="count">4</span>', page)
    assert shown() == {low.id, injected.id, old.id}
    assert shown(status="rejected") == {rejected.id}
    assert shown(status="any") == {low.id, injected.id, old.id, rejected.id}
    assert shown(rule="prompt-injection") == {injected.id}
    assert shown(flag="prompt_injection") == {injected.id}
    assert shown(min_confidence="0.5") == {low.id}
    assert shown(max_confidence="0.5") == {injected.id}
    assert shown(older_than_hours="24") == {old.id}
    assert shown(employee=injected.employee.external_id) == {injected.id}

    bad = world.client.get("/ui/reviews", params={"min_confidence": "lots"}).text
    assert "Ignored min confidence &#39;lots&#39;: give a number from 0 to 1." in bad


def test_an_htmx_filter_answers_the_table_only_and_pushes_a_url_without_the_hris_id(
    world: World,
) -> None:
    parked = world.park(1)
    signed_in(world, "ana")

    response = world.client.get(
        "/ui/reviews",
        params={"employee": parked.employee.external_id, "status": "pending"},
        headers={**HX, "HX-Target": "queue"},
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="queue"')
    assert parked.id in response.text
    pushed = response.headers["hx-push-url"]
    assert "subject=emp_" in pushed and parked.employee.external_id not in pushed


# --- one review -----------------------------------------------------------------------------


def test_the_detail_shows_the_diff_rules_ai_and_the_scrubbed_view(world: World) -> None:
    parked = world.park(1, rationale="<script>alert(1)</script> looks like a nurse")
    signed_in(world, "ana")

    page = world.client.get(f"/ui/reviews/{parked.id}")

    assert page.status_code == 200
    html = page.text
    lines = re.findall(r'<li class="(added|removed|kept)[^"]*">.*?<code>([^<]+)</code>', html, re.S)
    assert set(lines) == {
        ("added", "dept-clinical"),
        ("added", NURSE),
        ("removed", "curr-code-of-conduct"),
        ("kept", "everyone"),
        ("kept", "site-berlin"),
    }
    assert "Role: Registered Nurses" in html and "Code of Conduct" in html  # display names
    assert "ai-low-confidence fired for this change" in html  # the rule's reason
    assert "0.62" in html and "approved title: Staff Nurse" in html  # confidence, evidence
    assert PRACTITIONER in html and "Nurse Practitioners" in html  # candidates
    assert "<dt>title</dt><dd>Registered Nurse</dd>" in html  # the scrubbed view
    assert "<strong>employee.created</strong>" in html  # the description's markdown
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'id="approve"' in html and 'id="reject"' in html
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert world.client.get("/ui/reviews/rev_missing").status_code == 404


def test_approve_through_the_page_resumes_the_run_and_a_second_decision_is_409(
    world: World,
) -> None:
    parked = world.park(1)
    csrf = signed_in(world, "ana")

    approved = post(world, f"/ui/reviews/{parked.id}/approve", csrf)

    assert approved.status_code == 200
    assert approved.text.lstrip().startswith('<article id="review"')
    assert "Approved. The change is queued for the LMS." in approved.text
    assert world.status(parked.id) == "approved"
    row = inbox.get(world.engine, receipt_id=parked.receipt_id)
    assert row is not None and row.status == InboxStatus.pending  # a worker resumes it
    assert 'id="approve"' not in approved.text  # closed: no buttons any more

    again = post(world, f"/ui/reviews/{parked.id}/reject", csrf)
    assert again.status_code == 409
    assert "Already decided: this review is approved" in again.text
    assert world.status(parked.id) == "approved"


def test_two_approval_rules_need_a_different_reviewer(world: World) -> None:
    parked = world.park(1, rules=["prompt-injection"], required_approvals=2)
    csrf = signed_in(world, "ana")

    first = post(world, f"/ui/reviews/{parked.id}/approve", csrf)
    assert first.status_code == 200
    assert "(1 of 2 approvals). Another reviewer must approve" in first.text
    twice = post(world, f"/ui/reviews/{parked.id}/approve", csrf)
    assert twice.status_code == 409
    assert "have already approved this review" in twice.text
    assert "another reviewer has to approve it" in twice.text
    assert world.status(parked.id) == "pending"

    csrf = signed_in(world, "bo")
    second = post(world, f"/ui/reviews/{parked.id}/approve", csrf)
    assert second.status_code == 200
    assert world.status(parked.id) == "approved"


def test_edit_is_validated_against_the_catalog_and_applies_the_chosen_groups(
    world: World,
) -> None:
    parked = world.park(1)
    csrf = signed_in(world, "ana")
    chosen = ["everyone", "site-berlin", PRACTITIONER]

    invalid = world.client.post(
        f"/ui/reviews/{parked.id}/edit",
        data={"csrf_token": csrf, "groups": [*chosen, "admins"]},
        headers=HX,
    )
    assert invalid.status_code == 422
    assert "That edit was not accepted: not in the catalog: admins." in invalid.text
    assert '<details class="edit" open>' in invalid.text  # the form stays open ...
    assert re.search(rf'<option value="{PRACTITIONER}" selected>', invalid.text)  # ... as chosen
    assert world.status(parked.id) == "pending"

    empty = post(world, f"/ui/reviews/{parked.id}/edit", csrf)
    assert empty.status_code == 422
    assert "Choose at least one group" in empty.text

    edited = world.client.post(
        f"/ui/reviews/{parked.id}/edit", data={"csrf_token": csrf, "groups": chosen}, headers=HX
    )
    assert edited.status_code == 200
    assert "Approved with your groups." in edited.text
    review = reviews.get_review(world.engine, review_id=parked.id)
    assert review.status == "edited"
    assert review.resolution is not None
    assert review.resolution["args"]["args"]["groups"] == sorted(chosen)


def test_an_edit_under_a_two_approval_rule_waits_for_a_second_reviewer(world: World) -> None:
    parked = world.park(1, rules=["leadership-access"], required_approvals=2)
    csrf = signed_in(world, "ana")

    edited = world.client.post(
        f"/ui/reviews/{parked.id}/edit",
        data={"csrf_token": csrf, "groups": ["everyone", PRACTITIONER]},
        headers=HX,
    )

    assert edited.status_code == 200
    assert "Your edit is recorded (1 of 2 approvals)" in edited.text
    assert "Edited by ana, waiting for approval" in edited.text
    assert world.status(parked.id) == "pending"
    csrf = signed_in(world, "bo")
    page = world.client.get(f"/ui/reviews/{parked.id}").text
    assert "Edited by ana, waiting for approval" in page  # bo sees what he approves
    approved = post(world, f"/ui/reviews/{parked.id}/approve", csrf)
    assert approved.status_code == 200
    assert "Approved with an edit (final approval: bo)" in approved.text
    assert world.status(parked.id) == "edited"


def test_reject_and_comment_through_the_page(world: World) -> None:
    parked = world.park(1)
    csrf = signed_in(world, "ana")

    empty = post(world, f"/ui/reviews/{parked.id}/comment", csrf, text="   ")
    assert empty.status_code == 422
    assert "Write a comment first." in empty.text
    commented = post(world, f"/ui/reviews/{parked.id}/comment", csrf, text="Checked <b>ward</b>")
    assert commented.status_code == 200
    assert "Comment added." in commented.text
    assert "Checked &lt;b&gt;ward&lt;/b&gt;" in commented.text
    assert reviews.get_review(world.engine, review_id=parked.id).comments[0]["by"] == "ana"

    rejected = post(world, f"/ui/reviews/{parked.id}/reject", csrf)
    assert rejected.status_code == 200
    assert "Rejected. The LMS stays as it was" in rejected.text
    assert world.status(parked.id) == "rejected"
    row = inbox.get(world.engine, receipt_id=parked.receipt_id)
    assert row is not None and row.status == InboxStatus.pending  # resumes to record it


def test_bulk_approve_and_reject_say_what_happened_to_each(world: World) -> None:
    one, two, closed = world.park(1), world.park(2), world.park(3)
    csrf = signed_in(world, "ana")
    post(world, f"/ui/reviews/{closed.id}/reject", csrf)

    response = world.client.post(
        "/ui/reviews/bulk/reject",
        data={"csrf_token": csrf, "ids": [one.id, two.id, closed.id], "status": "any"},
        headers=HX,
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="queue"')
    assert "Rejected 2 of 3 selected reviews." in response.text
    assert f"{closed.id}</code></a>: Already decided: this review is rejected" in response.text
    assert world.status(one.id) == world.status(two.id) == "rejected"

    nothing = post(world, "/ui/reviews/bulk/approve", csrf)
    assert nothing.status_code == 422
    assert "Select at least one review first" in nothing.text


# --- who may do what ------------------------------------------------------------------------


def test_an_auditor_sees_reviews_but_cannot_decide(world: World) -> None:
    parked = world.park(1)
    csrf = signed_in(world, "aud")

    queue = world.client.get("/ui/reviews").text
    detail = world.client.get(f"/ui/reviews/{parked.id}").text
    assert parked.id in queue and "view only" in queue
    assert 'name="ids"' not in queue and "bulk-approve" not in queue
    assert 'id="approve"' not in detail and "/comment" not in detail

    for action in ("approve", "reject", "comment"):
        refused = post(world, f"/ui/reviews/{parked.id}/{action}", csrf, text="hi")
        assert refused.status_code == 403, action
        assert "can view reviews but not decide them" in refused.text
        assert refused.headers["hx-retarget"] == "#flash"
    bulk = post(world, "/ui/reviews/bulk/approve", csrf, ids=parked.id)
    assert bulk.status_code == 403
    review = reviews.get_review(world.engine, review_id=parked.id)
    assert review.status == "pending" and review.comments == [] and review.approvals == []


def test_a_post_without_the_htmx_header_or_the_page_token_is_refused(world: World) -> None:
    parked = world.park(1)
    csrf = signed_in(world, "ana")
    path = f"/ui/reviews/{parked.id}/approve"

    no_header = world.client.post(path, data={"csrf_token": csrf})
    no_token = world.client.post(path, headers=HX)
    wrong_token = world.client.post(path, data={"csrf_token": "0" * 64}, headers=HX)
    other_token = world.client.post(path, headers={**HX, "X-CSRF-Token": "f" * 64})

    for refused in (no_header, no_token, wrong_token, other_token):
        assert refused.status_code == 403
    assert "Decisions are made from the review page itself" in no_header.text
    assert "did not come from a TalentSync page" in no_token.text
    assert world.status(parked.id) == "pending"
    by_header = world.client.post(path, headers={**HX, "X-CSRF-Token": csrf})
    assert by_header.status_code == 200  # the header htmx sends from <body hx-headers>
    assert world.status(parked.id) == "approved"


# --- personal data --------------------------------------------------------------------------


def test_no_page_shows_the_hris_id_or_the_persons_name(world: World) -> None:
    parked = world.park(1)
    other = world.park(2, rules=["prompt-injection"], required_approvals=2)
    csrf = signed_in(world, "ana")

    pages: list[Any] = [
        world.client.get("/ui/reviews"),
        world.client.get("/ui/reviews", params={"status": "any"}),
        world.client.get("/ui/reviews", params={"employee": parked.employee.external_id}),
        world.client.get(f"/ui/reviews/{parked.id}"),
        world.client.get(f"/ui/reviews/{other.id}"),
        post(world, f"/ui/reviews/{other.id}/approve", csrf),
        post(world, f"/ui/reviews/{parked.id}/comment", csrf, text="ok"),
        post(world, f"/ui/reviews/{parked.id}/edit", csrf, groups=["everyone", NURSE]),
        world.client.post(
            "/ui/reviews/bulk/approve", data={"csrf_token": csrf, "ids": other.id}, headers=HX
        ),
    ]

    filtered = pages[2]
    assert parked.id in filtered.text and other.id not in filtered.text
    assert parked.employee.external_id not in str(filtered.url)  # redirected to the pseudonym
    for response in pages:
        assert response.status_code in (200, 409), response.text
        for secret in [*personal_data(parked.employee), *personal_data(other.employee)]:
            assert secret not in response.text, (secret, str(response.url))
    assert parked.review.subject[:12] in pages[3].text  # the pseudonym is what identifies


# --- assets and small pieces ----------------------------------------------------------------


def test_pages_load_only_their_own_scripts_and_styles(world: World) -> None:
    signed_in(world, "ana")
    page = world.client.get("/ui/reviews").text

    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert "/ui/static/htmx.min.js" in assets and "/ui/static/ui.css" in assets
    assert all(a.startswith(("/ui/", "#")) for a in assets), assets
    htmx = world.client.get("/ui/static/htmx.min.js")
    assert htmx.status_code == 200 and 'version:"2.' in htmx.text


def test_the_description_markdown_subset_never_passes_html_through() -> None:
    html = str(markdown_lite("**created**: <img src=x onerror=alert(1)>\n- rule `a<b`: why"))
    assert html == (
        "<p><strong>created</strong>: &lt;img src=x onerror=alert(1)&gt;</p>\n"
        "<ul>\n<li>rule <code>a&lt;b</code>: why</li>\n</ul>"
    )
