"""Parked reviews for the reviewer page tests, in the state the review checkpoint leaves
them: the inbox row waits in ``awaiting_review`` and the review holds an Agent Inbox
``HumanInterrupt`` with only the pseudonym, catalog ids and the scrubbed model view.

The employee behind each review has a distinctive HRIS id, name and e-mail, so a test can
assert that none of them ever reaches a page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from core import inbox, reviews, vault
from core.api_keys import Role, create_key
from core.db import session_scope, utcnow
from core.employee import Employee
from core.inbox import InboxEvent, InboxStatus
from core.reviews import Review
from core.settings import Settings
from core.vault import load_keys, pseudonym
from tests.factories import make_employee, make_event

NURSE = "role-29-1141"
PRACTITIONER = "role-29-1171"
SCRUBBED_VIEW = {"title": "Registered Nurse", "department": "Clinical", "location": "Berlin"}


def ui_settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/ui.db")


def make_keys(engine: Engine) -> dict[str, str]:
    """Two reviewers (two-approval rules need different people), an auditor and an admin
    (only an admin may reveal hidden personal data)."""
    people = (
        ("ana", Role.reviewer),
        ("bo", Role.reviewer),
        ("aud", Role.auditor),
        ("root", Role.admin),
    )
    return {name: create_key(engine, name=name, role=role)[1] for name, role in people}


def private_person(n: int) -> Employee:
    return make_employee(
        external_id=f"HRX-{7734200 + n}",
        given_name=f"Zebulon{n}",
        family_name=f"Quigglesworth{n}",
        email=f"zebulon.quigglesworth{n}@example.com",
        title="Registered Nurse",
        job_code=None,
        department="Clinical",
    )


@dataclass(frozen=True)
class Parked:
    review: Review
    employee: Employee
    receipt_id: str

    @property
    def id(self) -> str:
        return self.review.id


def human_interrupt(
    *,
    before: list[str],
    after: list[str],
    rules: list[str],
    reasons: dict[str, str],
    required_approvals: int,
    confidence: float | None,
    flags: list[str],
    rationale: str,
    view: dict[str, str] | None = None,
    role_id: str | None = None,
) -> dict[str, Any]:
    user_action = "update" if after else "deactivate"
    add = sorted(set(after) - set(before))
    remove = sorted(set(before) - set(after))
    lines = [f"**employee.created**: {user_action} account"]
    lines += [f"- rule `{rule}`: {reason}" for rule, reason in reasons.items()]
    if add:
        lines.append("- adds: " + ", ".join(add))
    return {
        "action_request": {
            "action": "provision",
            "args": {
                "groups": sorted(after),
                "user_action": user_action,
                "add_groups": add,
                "remove_groups": remove,
                "before": sorted(before),
                "after": sorted(after),
                "view": SCRUBBED_VIEW if view is None else view,
                "rules": rules,
                "reasons": reasons,
                "required_approvals": required_approvals,
                "due_hours": 48,
                "on_overdue": "reject",
                "flags": flags,
                **({"role_id": role_id} if role_id is not None else {}),
                "confidence": confidence,
                "rationale": rationale,
                "evidence": ["label: Registered Nurses", "approved title: Staff Nurse"],
                "candidates": [
                    {"role_id": NURSE, "label": "Registered Nurses", "score": 0.71},
                    {"role_id": PRACTITIONER, "label": "Nurse Practitioners", "score": 0.64},
                ],
            },
        },
        "config": {
            "allow_accept": True,
            "allow_edit": True,
            "allow_respond": True,
            "allow_ignore": True,
        },
        "description": "\n".join(lines),
    }


def park_review(
    engine: Engine,
    settings: Settings,
    n: int,
    *,
    before: list[str] | None = None,
    after: list[str] | None = None,
    rules: list[str] | None = None,
    required_approvals: int = 1,
    confidence: float | None = 0.62,
    flags: list[str] | None = None,
    rationale: str = "'registered nurse' is closest to the catalog label Registered Nurses.",
    created_hours_ago: float = 0,
    view: dict[str, str] | None = None,
    role_id: str | None = None,
    hidden: dict[str, str] | None = None,
) -> Parked:
    """``hidden``: what the view's placeholders stood for, sealed in the vault as the scrub
    step seals them (what an admin's reveal shows)."""
    employee = private_person(n)
    event = make_event(employee)
    row, _ = inbox.enqueue(engine, event=event)
    with session_scope(engine) as session:
        parked = session.get(InboxEvent, row.id)
        assert parked is not None
        parked.status = InboxStatus.awaiting_review
    before = ["everyone", "site-berlin", "curr-code-of-conduct"] if before is None else before
    after = ["everyone", "site-berlin", "dept-clinical", NURSE] if after is None else after
    rules = ["ai-low-confidence"] if rules is None else rules
    reasons = {rule: f"{rule} fired for this change" for rule in rules}
    review = reviews.open_review(
        engine,
        receipt_id=row.id,
        interrupt_id=f"int-{row.id}",
        subject=pseudonym(employee.external_id, secret=load_keys(settings).pseudonym),
        event_type=event.type.value,
        occurred_at=event.occurred_at,
        request=human_interrupt(
            before=before,
            after=after,
            rules=rules,
            reasons=reasons,
            required_approvals=required_approvals,
            confidence=confidence,
            flags=flags or [],
            rationale=rationale,
            view=view,
            role_id=role_id,
        ),
        rules=rules,
        required_approvals=required_approvals,
        due_in=timedelta(hours=48),
        confidence=confidence,
        flags=flags or [],
    )
    if hidden:
        keys = load_keys(settings)
        vault.store(
            engine,
            master_key=keys.master,
            subject=review.subject,
            label=f"{row.id}:placeholders",
            plaintext=hidden,
        )
    if created_hours_ago:
        with session_scope(engine) as session:
            stored = session.get(Review, review.id)
            assert stored is not None
            stored.created_at = utcnow() - timedelta(hours=created_hours_ago)
    return Parked(reviews.get_review(engine, review_id=review.id), employee, row.id)


def personal_data(employee: Employee) -> list[str]:
    """What must never appear on a reviewer page."""
    return [employee.external_id, employee.given_name, employee.family_name, str(employee.email)]


CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "no CSRF token in the page"
    return found.group(1)
