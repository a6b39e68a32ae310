"""Triage on the reviewer pages (issue 14): the queue rows carry the scrubbed job title and
the proposed role, the rule and flag filters are pick lists, a prompt-injection review looks
dangerous and defaults to Reject, the change panel of an edited review shows the groups
applied, and a title with a hidden part says so, with an audited reveal for admins only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.policy.rules import KNOWN_FLAGS, load_policy
from api.ui.policy import privilege_of
from api.ui.present import group_diff
from core import audit, reviews, vault
from core.audit import AuditAction, AuditFilter
from core.catalog import load_catalog
from tests.review_ui_client import HX, World, open_world, post, signed_in
from tests.review_ui_data import NURSE, PRACTITIONER, SCRUBBED_VIEW

LEADERSHIP = "prog-leadership"
HIDDEN_TITLE = {**SCRUBBED_VIEW, "title": "Assistant <PERSON_1> Manager"}
HIDDEN_VALUE = "Quirinalbranch"  # what <PERSON_1> stood for: never on a page unrevealed


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with open_world(tmp_path) as opened:
        yield opened


def row_of(html: str, review_id: str) -> str:
    """The queue row of one review, tags and all."""
    for row in re.findall(r"<tr\b.*?</tr>", html, re.S):
        if f'href="/ui/reviews/{review_id}"' in row:
            return str(row)
    raise AssertionError(f"no row for {review_id}")


def cell(row: str, css: str) -> str:
    found = re.search(rf'<td class="{css}">(.*?)</td>', row, re.S)
    assert found is not None, row
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())


def options(html: str, select_id: str) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of the first ``<select id=...>`` in the page."""
    found = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert found is not None, f"no <select id={select_id}>"
    return [
        (value, label.strip(), bool(selected))
        for value, selected, label in re.findall(
            r'<option value="([^"]*)"( selected)?>([^<]*)</option>', found.group(1)
        )
    ]


def main_diff(html: str) -> set[tuple[str, str]]:
    """(change, group id) of the change panel, without the AI proposal kept apart."""
    panel = html.split('<section aria-labelledby="h-change">', 1)[1].split("</section>", 1)[0]
    panel = panel.split('<details class="ai-proposal">', 1)[0]
    lines = re.findall(
        r'<li class="(added|removed|kept)[^"]*">.*?<code>([^<]+)</code>', panel, re.S
    )
    return set(lines)


# --- the queue ------------------------------------------------------------------------------


def test_queue_rows_show_the_scrubbed_title_and_the_proposed_role(world: World) -> None:
    nurse = world.park(1)  # no role_id recorded (older reviews): the proposal's role group
    hidden = world.park(
        2, view=HIDDEN_TITLE, role_id=PRACTITIONER, hidden={"<PERSON_1>": HIDDEN_VALUE}
    )
    leaving = world.park(
        3, rules=["termination"], before=["everyone", NURSE], after=[], confidence=None
    )
    refused = world.park(4, view={}, after=["everyone"], rules=["pii-refusal"])
    signed_in(world, "ana")

    page = world.client.get("/ui/reviews").text

    assert '<th scope="col">Job title' in page and '<th scope="col">Proposed role</th>' in page
    assert cell(row_of(page, nurse.id), "title-cell") == "Registered Nurse"
    assert cell(row_of(page, nurse.id), "role-cell") == "Role: Registered Nurses"
    assert cell(row_of(page, hidden.id), "title-cell") == (
        "Assistant &lt;PERSON_1&gt; Manager part hidden as personal data"
    )
    assert cell(row_of(page, hidden.id), "role-cell") == "Role: Nurse Practitioners"
    assert cell(row_of(page, leaving.id), "role-cell") == "no role"
    assert cell(row_of(page, refused.id), "title-cell") == "no model view"
    for person in (nurse, hidden, leaving, refused):
        assert person.employee.given_name not in page and person.employee.family_name not in page
    assert HIDDEN_VALUE not in page  # the scrubbed view, never what it hid


def test_rule_and_flag_filters_are_pick_lists_with_counts(world: World) -> None:
    low = world.park(1)
    world.park(2)
    injected = world.park(3, rules=["prompt-injection"], flags=["prompt_injection"])
    closed = world.park(4, rules=["prompt-injection"], flags=["prompt_injection"])
    reviews.decide(
        world.engine,
        review_id=closed.id,
        reviewer="bo",
        response={"type": "ignore", "args": None},
        catalog_ids=[],
    )
    signed_in(world, "ana")

    page = world.client.get("/ui/reviews").text

    assert '<input id="f-rule"' not in page and '<input id="f-flag"' not in page
    rules = options(page, "f-rule")
    policy_order = [rule.id for rule in load_policy().rules]
    assert rules[0] == ("", "any rule", True)
    assert [value for value, _, _ in rules[1:]] == policy_order
    assert ("ai-low-confidence", "ai-low-confidence (2)", False) in rules  # pending only
    assert ("prompt-injection", "prompt-injection (1)", False) in rules
    assert ("termination", "termination (0)", False) in rules
    flags = options(page, "f-flag")
    assert flags[0] == ("", "any flag", True)
    assert {value for value, _, _ in flags[1:]} == set(KNOWN_FLAGS)
    assert ("prompt_injection", "prompt_injection (1)", False) in flags

    chosen = world.client.get("/ui/reviews", params={"rule": "prompt-injection"}).text
    assert ("prompt-injection", "prompt-injection (1)", True) in options(chosen, "f-rule")
    assert injected.id in chosen and low.id not in chosen
    everything = world.client.get("/ui/reviews", params={"status": "any"}).text
    assert ("prompt-injection", "prompt-injection (2)", False) in options(everything, "f-rule")

    # a rule no longer in the policy (an old bookmark) stays visible as the applied filter
    retired = world.client.get("/ui/reviews", params={"rule": "retired-rule"}).text
    assert options(retired, "f-rule")[-1] == ("retired-rule", "retired-rule (0)", True)
    assert "No reviews match these filters." in retired

    # the table alone (htmx) brings the lists with it, counted for the status it shows
    partial = world.client.get(
        "/ui/reviews", params={"status": "rejected"}, headers={**HX, "HX-Target": "queue"}
    ).text
    assert '<select id="f-rule" name="rule" hx-swap-oob="true">' in partial
    assert ("prompt-injection", "prompt-injection (1)", False) in options(partial, "f-rule")
    assert ("ai-low-confidence", "ai-low-confidence (0)", False) in options(partial, "f-rule")


def test_queue_number_filters_out_of_range_are_ignored_in_words(world: World) -> None:
    world.park(1)
    signed_in(world, "ana")

    for name, text in (
        ("older_than_hours", "1.8e7"),
        ("older_than_hours", "1e400"),
        ("min_confidence", "nan"),
        ("max_confidence", "-inf"),
    ):
        page = world.client.get("/ui/reviews", params={name: text})
        assert page.status_code == 200, (name, text)
        assert f"Ignored {name.replace('_', ' ')} &#39;{text}&#39;" in page.text


# --- a flagged review -----------------------------------------------------------------------


def park_injected(world: World, n: int = 1) -> str:
    return world.park(
        n,
        rules=["prompt-injection"],
        flags=["prompt_injection"],
        required_approvals=2,
        after=["everyone", "site-berlin", NURSE, LEADERSHIP],
        confidence=0.31,
    ).id


def test_a_flagged_review_warns_marks_privileged_groups_and_defaults_to_reject(
    world: World,
) -> None:
    injected = park_injected(world)
    plain = world.park(2, after=["everyone", "site-berlin", NURSE, LEADERSHIP]).id
    signed_in(world, "ana")

    page = world.client.get(f"/ui/reviews/{injected}").text

    warning = re.search(
        r'<section class="danger-banner" id="danger-warning" role="alert".*?</section>', page, re.S
    )
    assert warning is not None
    text = " ".join(re.sub(r"<[^>]+>", " ", warning.group()).split())
    assert "Possible prompt injection" in text
    assert "add privileged groups : Leadership Programme (leadership)" in text
    assert "Reject is the default action here" in text
    leadership = re.search(
        rf'<li class="added privileged">.*?<code>{LEADERSHIP}</code>.*?</li>', page, re.S
    )
    assert leadership is not None and "⚠ privileged: leadership" in leadership.group()
    assert re.search(r'<li class="removed privileged">.*?curr-code-of-conduct', page, re.S)
    # Reject first, the primary (filled) button, focused on load and pointing at the warning
    reject = re.search(r'<button type="submit" class="([^"]*)" id="reject"([^>]*)>', page)
    approve = re.search(r'<button type="submit"( class="[^"]*")? id="approve"([^>]*)>', page)
    assert reject is not None and approve is not None
    assert reject.group(1) == "primary danger"
    assert "autofocus" in reject.group(2) and 'aria-describedby="danger-warning"' in reject.group(2)
    assert approve.group(1) is None and "autofocus" not in approve.group(2)
    assert page.index('id="reject"') < page.index('id="approve"')
    assert "Approve anyway" in page
    assert 'hx-confirm="This record tried to give the AI instructions. Approve' in page

    ordinary = world.client.get(f"/ui/reviews/{plain}").text
    assert "danger-warning" not in ordinary and "autofocus" not in ordinary
    assert re.search(
        r'<button type="submit" class="primary" id="approve">Approve</button>', ordinary
    )
    assert ordinary.index('id="approve"') < ordinary.index('id="reject"')
    assert "⚠ privileged: leadership" in ordinary  # the mark does not depend on the flag

    queue = world.client.get("/ui/reviews").text
    assert 'class="flagged-row"' in row_of(queue, injected)
    assert '<span class="flag danger">⚠ prompt_injection</span>' in row_of(queue, injected)
    assert "flagged-row" not in row_of(queue, plain)


def test_an_auditor_sees_the_warning_but_no_buttons(world: World) -> None:
    injected = park_injected(world)
    signed_in(world, "aud")

    page = world.client.get(f"/ui/reviews/{injected}").text

    assert 'id="danger-warning"' in page and "⚠ privileged: leadership" in page
    assert 'id="reject"' not in page and 'id="approve"' not in page and "autofocus" not in page


# --- after an edit --------------------------------------------------------------------------


def test_after_an_edit_the_change_panel_shows_the_groups_applied(world: World) -> None:
    parked = world.park(1, role_id=NURSE)
    csrf = signed_in(world, "ana")
    chosen = ["everyone", "site-berlin", PRACTITIONER]

    edited = world.client.post(
        f"/ui/reviews/{parked.id}/edit", data={"csrf_token": csrf, "groups": chosen}, headers=HX
    )

    assert edited.status_code == 200
    applied = {
        ("added", PRACTITIONER),
        ("removed", "curr-code-of-conduct"),
        ("kept", "everyone"),
        ("kept", "site-berlin"),
    }
    review = reviews.get_review(world.engine, review_id=parked.id)
    assert review.resolution is not None  # what the resumed run applies
    assert review.resolution["args"]["args"]["groups"] == sorted(chosen)
    for html in (edited.text, world.client.get(f"/ui/reviews/{parked.id}").text):
        assert main_diff(html) == applied
        assert "Change applied: update the LMS account with the groups ana chose" in html
        proposal = html.split('<details class="ai-proposal">', 1)[1].split("</details>", 1)[0]
        assert "The AI's original proposal (replaced by the edit, not applied)" in proposal
        assert f"<code>{NURSE}</code>" in proposal and "<code>dept-clinical</code>" in proposal
        assert "(1 added, 1 removed, 2 kept)" in html
    queue = world.client.get("/ui/reviews", params={"status": "edited"}).text
    assert cell(row_of(queue, parked.id), "role-cell") == (
        "Role: Nurse Practitioners (edited; the AI proposed Role: Registered Nurses)"
    )


def test_a_two_approval_edit_shows_the_edit_once_it_is_approved(world: World) -> None:
    parked = world.park(1, rules=["leadership-access"], required_approvals=2)
    csrf = signed_in(world, "ana")
    post(world, f"/ui/reviews/{parked.id}/edit", csrf, groups=["everyone", PRACTITIONER])
    waiting = world.client.get(f"/ui/reviews/{parked.id}").text
    assert ("added", NURSE) in main_diff(waiting)  # still the proposal, the edit beside it

    csrf = signed_in(world, "bo")
    approved = post(world, f"/ui/reviews/{parked.id}/approve", csrf)

    assert main_diff(approved.text) == {
        ("added", PRACTITIONER),
        ("removed", "curr-code-of-conduct"),
        ("removed", "site-berlin"),
        ("kept", "everyone"),
    }
    assert "with the groups ana chose" in approved.text


# --- a hidden part of the title -------------------------------------------------------------


def reveals(world: World) -> list[audit.AuditEntry]:
    return audit.query(world.engine, where=AuditFilter(action=AuditAction.pii_reveal))


def test_a_hidden_part_of_the_title_is_said_and_only_an_admin_may_reveal_it(
    world: World,
) -> None:
    parked = world.park(1, view=HIDDEN_TITLE, hidden={"<PERSON_1>": HIDDEN_VALUE})
    path = f"/ui/reviews/{parked.id}/reveal"

    for who in ("ana", "aud"):
        csrf = signed_in(world, who)
        page = world.client.get(f"/ui/reviews/{parked.id}").text
        assert "Part of the title was hidden as personal data" in page
        assert "<code>&lt;PERSON_1&gt;</code>" in page
        assert "Only an admin can reveal it." in page
        assert 'id="reveal"' not in page and path not in page
        refused = post(world, path, csrf)
        assert refused.status_code == 403
        assert "only an admin can reveal personal data" in refused.text
        assert HIDDEN_VALUE not in refused.text
    assert reveals(world) == []

    csrf = signed_in(world, "root")
    page = world.client.get(f"/ui/reviews/{parked.id}").text
    assert 'id="reveal"' in page and f'hx-post="{path}"' in page
    assert "recorded in the audit trail under your name" in page
    assert HIDDEN_VALUE not in page
    assert world.client.post(path, data={"csrf_token": csrf}).status_code == 403  # not htmx
    assert post(world, path, "0" * 64).status_code == 403  # not from our page
    assert reveals(world) == []

    shown = post(world, path, csrf)

    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    assert "<dt>title</dt><dd>Assistant Quirinalbranch Manager</dd>" in shown.text
    assert f"<td><code>&lt;PERSON_1&gt;</code></td><td>{HIDDEN_VALUE}</td>" in shown.text
    assert "Shown to you (root) and recorded in the audit trail" in shown.text
    (entry,) = reveals(world)
    assert entry.actor == "admin:root" and entry.provenance["review_id"] == parked.id
    assert HIDDEN_VALUE not in str(entry.provenance)


def test_a_title_with_nothing_hidden_offers_no_reveal(world: World) -> None:
    parked = world.park(1)
    signed_in(world, "root")

    page = world.client.get(f"/ui/reviews/{parked.id}").text

    assert "was hidden as personal data" not in page and 'id="reveal"' not in page


def test_privileged_marks_follow_the_policy_and_the_direction_of_the_change(
    tmp_path: Path,
) -> None:
    catalog = load_catalog()
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\nrules:\n"
        "  - {id: security-grants, when: group_added, tags: [security]}\n"
        "  - {id: site-moves, when: group_removed, kinds: [location]}\n",
        encoding="utf-8",
    )
    privilege = privilege_of(policy)
    lines = {
        (line.id, line.change): line.privileged
        for line in group_diff(
            ["site-berlin", "curr-code-of-conduct", LEADERSHIP],
            ["curr-gdpr-essentials", "curr-infosec-awareness", LEADERSHIP, "site-london"],
            catalog,
            privilege,
        )
    }

    assert lines[(LEADERSHIP, "kept")] == ("leadership",)  # built in, whatever the policy
    assert lines[("curr-infosec-awareness", "added")] == ("security",)  # the policy's tag
    assert lines[("curr-gdpr-essentials", "added")] == ()  # compliance: routine to add ...
    assert lines[("curr-code-of-conduct", "removed")] == ("compliance",)  # ... not to drop
    assert lines[("site-berlin", "removed")] == ("location",)  # the policy's kind, removed
    assert lines[("site-london", "added")] == ()


def test_a_reveal_after_erasure_or_of_no_review_says_so_in_words(world: World) -> None:
    parked = world.park(1, view=HIDDEN_TITLE, hidden={"<PERSON_1>": HIDDEN_VALUE})
    csrf = signed_in(world, "root")
    vault.shred(world.engine, subject=parked.review.subject)

    erased = post(world, f"/ui/reviews/{parked.id}/reveal", csrf)
    missing = post(world, "/ui/reviews/rev_missing/reveal", csrf)

    assert erased.status_code == 410
    assert "This person was erased: the hidden personal data is gone." in erased.text
    assert erased.headers["hx-retarget"] == "#flash"
    assert missing.status_code == 404 and "There is no such review." in missing.text


def test_bulk_approve_leaves_a_flagged_review_for_its_own_page(world: World) -> None:
    plain = world.park(1).id
    injected = park_injected(world, 2)
    csrf = signed_in(world, "ana")

    response = world.client.post(
        "/ui/reviews/bulk/approve",
        data={"csrf_token": csrf, "ids": [plain, injected]},
        headers=HX,
    )

    assert "Approved 1 of 2 selected reviews." in response.text
    assert f"{injected}</code></a>: not approved: flagged as a possible prompt injection" in (
        response.text
    )
    assert world.status(plain) == "approved"
    flagged = reviews.get_review(world.engine, review_id=injected)
    assert flagged.status == "pending" and flagged.approvals == []
    rejected = post(world, "/ui/reviews/bulk/reject", csrf, ids=injected)
    assert "Rejected 1 of 1 selected reviews." in rejected.text  # rejecting stays one click


def test_the_api_bulk_accept_refuses_a_flagged_review_as_the_page_does(world: World) -> None:
    plain = world.park(1).id
    injected = park_injected(world, 2)
    bearer = {"Authorization": f"Bearer {world.keys['ana']}"}

    accepted = world.client.post(
        "/reviews/decisions",
        json={"ids": [plain, injected], "response": {"type": "accept"}},
        headers=bearer,
    )

    assert accepted.status_code == 200
    by_id = {item["id"]: item for item in accepted.json()}
    assert by_id[plain]["outcome"] in ("resumed", "recorded")
    assert by_id[injected]["outcome"] == "refused"
    assert "possible prompt injection" in by_id[injected]["detail"]
    assert world.status(plain) == "approved" and world.status(injected) == "pending"
    rejected = world.client.post(
        "/reviews/decisions",
        json={"ids": [injected], "response": {"type": "ignore"}},
        headers=bearer,
    )
    assert rejected.json()[0]["outcome"] != "refused"
    assert world.status(injected) == "rejected"
