"""What the demo's run left behind, read back as an operator would: when an inbox row is
finished, the review queue and each AI title outcome from the service's API (``GET
/reviews``, ``GET /audit``), and every person's account and groups from the LMS, held
against what the HRIS says they should be.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from core.catalog import Catalog
from core.employee import Employee, EmploymentStatus
from tools.hris.simulator.free_text import FreeTextTitle
from tools.lms.scim import ScimLMS
from tools.mapping.role_directory import RoleDirectory
from tools.mapping.rules import RulesMapper


def finished(counts: dict[str, int]) -> int:
    """Inbox rows no worker will touch again on its own: applied, stale, dead, and parked
    for review or rejected (only a person moves those on)."""
    return sum(n for status, n in counts.items() if status not in ("pending", "processing"))


@dataclass(frozen=True)
class TitleOutcome:
    """What the service did with one free-text title, as its API reports it.

    ``held``: a change waits in the review queue (``rules`` fired, ``before``/``after`` are
    the managed groups the LMS had when it was planned and would have once approved);
    ``applied``: the AI's role went to the LMS without anyone; ``none``: no AI choice on
    record (title mapping switched off, or the person left).
    """

    external_id: str
    sent: FreeTextTitle
    status: Literal["applied", "held", "none"]
    seen_title: str | None = None  # the scrubbed title the AI was shown
    role_id: str | None = None
    confidence: float | None = None
    rules: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    user_action: str | None = None


@dataclass
class ReviewQueue:
    """The pending reviews as ``GET /reviews`` lists them, and the AI title outcomes."""

    pending: int = 0
    rules: Counter[str] = field(default_factory=Counter)
    titles: dict[str, TitleOutcome] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for o in self.titles.values() if o.status == status)


def _pages(client: httpx.Client, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item of a paged listing (``/reviews`` pages by ``next``, ``/audit`` by
    ``next_after``)."""
    params = dict(params)
    while True:
        response = client.get(path, params=params)
        response.raise_for_status()
        page = response.json()
        yield from page["items"]
        if page.get("next"):
            params["after"] = page["next"]
        elif page.get("next_after") is not None:
            params["after"] = page["next_after"]
        else:
            return


def _held(
    external_id: str, sent: FreeTextTitle, review: dict[str, Any], roles: RoleDirectory
) -> TitleOutcome:
    args = review["request"]["action_request"]["args"]
    # the role the change proposes; the top candidate when it proposes none
    proposed = [g for g in args.get("after", []) if g in roles]
    candidates = [c["role_id"] for c in args.get("candidates", [])]
    return TitleOutcome(
        external_id=external_id,
        sent=sent,
        status="held",
        seen_title=(args.get("view") or {}).get("title"),
        role_id=next(iter(proposed or candidates), None),
        confidence=review.get("confidence"),
        rules=tuple(review["rules"]),
        flags=tuple(review["flags"]),
        before=tuple(args.get("before", [])),
        after=tuple(args.get("after", [])),
        user_action=args.get("user_action"),
    )


def _decided(external_id: str, sent: FreeTextTitle, entry: dict[str, Any]) -> TitleOutcome:
    provenance = entry.get("provenance") or {}
    title = provenance.get("title") or {}
    applied = any(rule.startswith("ai:") for rule in provenance.get("rules_fired", []))
    return TitleOutcome(
        external_id=external_id,
        sent=sent,
        status="applied" if applied and title else "none",
        seen_title=title.get("title"),
        role_id=title.get("role_id"),
        confidence=title.get("confidence"),
        flags=tuple(provenance.get("flags", [])),
    )


def fetch_review_queue(
    free_text: Mapping[str, FreeTextTitle], *, api_url: str, admin_key: str, catalog: Catalog
) -> ReviewQueue:
    """Ask the service, as an operator would: the queue, then each free-text worker's case.

    A worker with a pending review is held (the newest one counts: a later event supersedes
    an older change); otherwise their last ``decision_made`` audit entry says whether the
    AI's role was applied.
    """
    queue = ReviewQueue()
    roles = RoleDirectory(catalog)
    headers = {"authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=api_url, timeout=30, headers=headers) as client:
        for review in _pages(client, "/reviews", {"status": "pending", "limit": 500}):
            queue.pending += 1
            queue.rules.update(review["rules"])
        for external_id, sent in free_text.items():
            waiting = list(
                _pages(
                    client, "/reviews", {"status": "pending", "employee": external_id, "limit": 50}
                )
            )
            if waiting:
                newest = max(waiting, key=lambda r: str(r["occurred_at"]))
                queue.titles[external_id] = _held(external_id, sent, newest, roles)
                continue
            decisions = list(
                _pages(
                    client,
                    "/audit",
                    {"employee": external_id, "action": "decision_made", "limit": 1000},
                )
            )
            queue.titles[external_id] = (
                _decided(external_id, sent, decisions[-1])
                if decisions
                else TitleOutcome(external_id=external_id, sent=sent, status="none")
            )
    return queue


@dataclass
class LMSReport:
    """What the LMS holds for the simulated workforce, and where it disagrees with the HRIS."""

    users: int = 0
    active_users: int = 0
    memberships: int = 0
    matching: int = 0
    held: int = 0  # of the matching: a change waits for review and the LMS is as before it
    mismatches: list[str] = field(default_factory=list)


def compare_with_hris(
    final: dict[str, Employee],
    *,
    lms: ScimLMS,
    catalog: Catalog,
    titles: Mapping[str, TitleOutcome] | None = None,
) -> LMSReport:
    """Read every person back from the LMS: account state and groups must match the rules.

    Where the AI placed a title (``titles``), its role and the curricula the role brings are
    expected too. Where a change waits for review, nothing of it may be in the LMS yet: the
    review checkpoint sits before ``apply``, so the LMS must hold exactly what it held when
    the change was planned (no account at all for a held hire), and the change waiting must
    be the HRIS's groups plus the AI's proposed role, so approving it would make them agree.
    """
    by_scim_id = {g.id: ext for ext, g in lms.groups().items()}
    mapper = RulesMapper(catalog)
    directory = RoleDirectory(catalog)
    titles = titles or {}
    managers = {
        e.manager_external_id
        for e in final.values()
        if e.manager_external_id and e.employment_status != EmploymentStatus.inactive
    }
    report = LMSReport()
    for employee in final.values():
        ext = employee.external_id
        user = lms.find_user(ext)
        active = employee.employment_status != EmploymentStatus.inactive
        expected = set(mapper.map(employee, manages_others=ext in managers).group_ids)
        groups: set[str] = set()
        if user is not None:
            groups = {by_scim_id[g] for g in lms.member_group_ids(user.id) if g in by_scim_id}
            report.users += 1
            report.active_users += user.active
            report.memberships += len(groups)
        outcome = titles.get(ext)
        if outcome is not None and outcome.status == "held":
            problem = _held_problem(outcome, user is not None, groups, expected, directory)
            if problem is None:
                report.held += 1
                report.matching += 1
            else:
                report.mismatches.append(f"{ext}: {problem}")
            continue
        if outcome is not None and outcome.status == "applied":
            if outcome.sent.injection:
                report.mismatches.append(f"{ext}: a prompt-injection title was applied unreviewed")
                continue
            expected |= set(directory.bundles.get(outcome.role_id or "", []))
        if (user is not None and user.active) != active:
            report.mismatches.append(f"{ext}: active in LMS != HRIS ({active})")
        elif groups != expected:
            report.mismatches.append(
                f"{ext}: missing {sorted(expected - groups)}, extra {sorted(groups - expected)}"
            )
        else:
            report.matching += 1
    return report


def _held_problem(
    outcome: TitleOutcome,
    has_account: bool,
    groups: set[str],
    expected: set[str],
    directory: RoleDirectory,
) -> str | None:
    """Why a held person's LMS state is wrong, or None when it is what holding means."""
    if outcome.user_action == "create" and has_account:
        return "held for review, yet the LMS already has an account"
    if outcome.user_action != "create" and not has_account:
        return "held for review, yet the LMS lost the account it had"
    if groups != set(outcome.before):
        return f"held for review, yet the LMS groups {sorted(groups)} != {sorted(outcome.before)}"
    proposed = [g for g in outcome.after if g in directory]
    want = expected | {g for role in proposed for g in directory.bundles[role]}
    if set(outcome.after) != want:
        return (
            f"the change held for review misses {sorted(want - set(outcome.after))}, "
            f"adds {sorted(set(outcome.after) - want)}"
        )
    return None
