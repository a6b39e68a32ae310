"""What the reviewer pages show, computed from a review row and the catalog.

Templates stay free of logic about the request's shape: the Agent Inbox ``HumanInterrupt``
is JSON written by the graph (and by older versions of it), so every field is read
defensively here, and a missing field shows as "none" rather than breaking the page.

Only the pseudonymous subject, the scrubbed model view and catalog ids ever reach a
template: the review row holds nothing else, and nothing here looks anywhere else (what a
placeholder stood for is shown only by the admin's audited reveal, ``api.ui.reveal``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from markupsafe import Markup, escape

from api.ui.policy import Privilege
from core.catalog import Catalog, GroupKind
from core.db import as_utc, utcnow
from core.reviews import DANGER_FLAGS, Review, ReviewStatus

Change = Literal["added", "removed", "kept"]
CHANGE_ORDER: dict[Change, int] = {"added": 0, "removed": 1, "kept": 2}
SUBJECT_SHOWN_CHARS = 12
PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*_\d+>")
"""How the PII firewall writes what it hid (``<PERSON_1>``), as in ``pii``."""


@dataclass(frozen=True)
class GroupLine:
    id: str
    name: str | None  # None: no longer in the catalog
    kind: str
    change: Change
    privileged: tuple[str, ...] = ()  # the tags or kind that make it privileged


@dataclass(frozen=True)
class RoleLine:
    id: str
    name: str | None  # None: not in the catalog


@dataclass(frozen=True)
class ViewField:
    """One field of the scrubbed model view, with the placeholders the firewall put in it."""

    name: str
    value: str
    hidden: tuple[str, ...]


@dataclass(frozen=True)
class FiredRule:
    id: str
    reason: str


@dataclass(frozen=True)
class CandidateLine:
    role_id: str
    label: str
    score: float | None
    in_catalog: bool


@dataclass(frozen=True)
class Entry:
    """An approval, rejection or comment, as listed on the page."""

    by: str
    at: datetime | None
    what: str


@dataclass(frozen=True)
class ReviewView:
    id: str
    status: str
    event_type: str
    subject: str
    occurred_at: datetime
    created_at: datetime
    due_at: datetime
    decided_at: datetime | None
    overdue: bool
    user_action: str
    diff: list[GroupLine]
    before: list[str]
    proposed: list[str]
    rules: list[FiredRule]
    flags: list[str]
    confidence: float | None
    rationale: str
    evidence: list[str]
    candidates: list[CandidateLine]
    view: list[ViewField]
    description: str
    required_approvals: int
    approvals: list[Entry]
    approvals_given: int
    comments: list[Entry]
    pending_edit: list[GroupLine] | None
    pending_edit_by: str | None
    resolution: str | None
    age: str
    counts: dict[Change, int] = field(default_factory=dict)
    roles: list[RoleLine] = field(default_factory=list)
    final_roles: list[RoleLine] = field(default_factory=list)
    proposal_diff: list[GroupLine] | None = None  # the AI's proposal an edit replaced
    edited_by: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status == ReviewStatus.pending

    @property
    def title(self) -> ViewField | None:
        """The job title as the model saw it: what a reviewer triages by."""
        return next((f for f in self.view if f.name == "title"), None)

    @property
    def hidden_fields(self) -> list[ViewField]:
        return [f for f in self.view if f.hidden]

    @property
    def dangerous(self) -> bool:
        """Someone may have steered the AI on purpose (a prompt injection in the record)."""
        return any(flag in DANGER_FLAGS for flag in self.flags)

    @property
    def privileged_added(self) -> list[GroupLine]:
        return [g for g in self.diff if g.privileged and g.change == "added"]

    @property
    def roles_edited(self) -> bool:
        return self.edited_by is not None and self.final_roles != self.roles

    @property
    def subject_short(self) -> str:
        return short_subject(self.subject)


def short_subject(subject: str) -> str:
    return subject if len(subject) <= SUBJECT_SHOWN_CHARS else subject[:SUBJECT_SHOWN_CHARS] + "…"


def _strings(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(item) for item in value if isinstance(item, str | int | float)]


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _when(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, str):
        try:
            return as_utc(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def group_diff(
    before: list[str],
    after: list[str],
    catalog: Catalog,
    privilege: Privilege | None = None,
) -> list[GroupLine]:
    """Changes first (added, then removed), kept groups last, each block by display name:
    what a reviewer must judge is on top."""
    privilege = privilege or Privilege()
    old, new = set(before), set(after)
    lines = []
    for group_id in old | new:
        change: Change = "kept" if group_id in old and group_id in new else "added"
        if group_id not in new:
            change = "removed"
        group = catalog.by_id.get(group_id)
        lines.append(
            GroupLine(
                id=group_id,
                name=group.display_name if group is not None else None,
                kind=group.kind.value if group is not None else "unknown",
                change=change,
                privileged=privilege.marks(group, removed=change == "removed"),
            )
        )
    return sorted(lines, key=lambda g: (CHANGE_ORDER[g.change], (g.name or g.id).lower(), g.id))


def age(since: datetime, now: datetime | None = None) -> str:
    seconds = max(0.0, ((now or utcnow()) - as_utc(since)).total_seconds())
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


DECISION_WORDS = {"accept": "approved", "edit": "approved with an edit", "reject": "rejected"}


def _entries(rows: list[dict[str, Any]], what_key: str, words: dict[str, str]) -> list[Entry]:
    out = []
    for row in rows:
        what = str(row.get(what_key, ""))
        out.append(
            Entry(by=str(row.get("by", "?")), at=_when(row.get("at")), what=words.get(what, what))
        )
    return out


def _edited_groups(edit: object) -> list[str] | None:
    """The groups of an Agent Inbox edit response, ``{args: {args: {groups}}}``."""
    if not isinstance(edit, dict):
        return None
    return _strings(_mapping(_mapping(edit.get("args")).get("args")).get("groups"))


def _resolution(review: Review, catalog: Catalog) -> str | None:
    resolution = review.resolution
    if not resolution:
        return None
    by = resolution.get("decided_by")
    kind = resolution.get("type")
    if kind == "superseded":
        return "Superseded: a newer HR event for the same person replaced this change."
    if review.status == ReviewStatus.expired:
        return "Expired: nobody decided in time and the rule rejects overdue changes."
    if kind == "edit":
        groups = _edited_groups(resolution) or []
        names = ", ".join(_label(g, catalog) for g in groups) or "no groups"
        return f"Approved with an edit (final approval: {by}); the person gets {names}."
    if kind == "ignore":
        return f"Rejected by {by}: the LMS stays as it was."
    if kind == "accept":
        return f"Approved by {by}: the change goes to the LMS as proposed."
    return f"Closed ({review.status})."


def _roles(group_ids: list[str], catalog: Catalog) -> list[RoleLine]:
    lines = []
    for group_id in group_ids:
        group = catalog.by_id.get(group_id)
        if group is not None and group.kind is GroupKind.role:
            lines.append(RoleLine(group_id, group.display_name))
    return lines


def _proposed_roles(args: dict[str, Any], after: list[str], catalog: Catalog) -> list[RoleLine]:
    """The AI's role when it chose one (``role_id``, recorded since the queue shows it),
    else the role groups the proposal ends with: a rule-made role, or older reviews."""
    role_id = args.get("role_id")
    if isinstance(role_id, str) and role_id:
        group = catalog.by_id.get(role_id)
        return [RoleLine(role_id, group.display_name if group is not None else None)]
    return _roles(after, catalog)


def _view_fields(view: dict[str, Any]) -> list[ViewField]:
    fields = []
    for name, raw in view.items():
        value = str(raw)
        hidden = tuple(dict.fromkeys(PLACEHOLDER.findall(value)))
        fields.append(ViewField(str(name), value, hidden))
    return fields


def _label(group_id: str, catalog: Catalog) -> str:
    group = catalog.by_id.get(group_id)
    return f"{group.display_name} ({group_id})" if group is not None else group_id


def review_view(
    review: Review,
    catalog: Catalog,
    now: datetime | None = None,
    *,
    privilege: Privilege | None = None,
) -> ReviewView:
    """The change panel shows what the LMS gets: after an edit, the reviewer's groups (the
    ones the resumed run applies), with the AI's original proposal kept apart."""
    now = now or utcnow()
    request = review.request if isinstance(review.request, dict) else {}
    args = _mapping(_mapping(request.get("action_request")).get("args"))
    before = _strings(args.get("before"))
    after = _strings(args.get("after") if "after" in args else args.get("groups"))
    reasons = _mapping(args.get("reasons"))
    rule_ids = list(dict.fromkeys([*review.rules, *_strings(args.get("rules"))]))
    view = _mapping(args.get("view"))
    candidates = []
    for item in args.get("candidates") or []:
        if isinstance(item, dict) and item.get("role_id"):
            role_id = str(item["role_id"])
            candidates.append(
                CandidateLine(
                    role_id=role_id,
                    label=str(item.get("label", "")),
                    score=_number(item.get("score")),
                    in_catalog=role_id in catalog.by_id,
                )
            )
    pending_groups = _edited_groups(review.pending_edit)
    confidence = review.confidence
    if confidence is None:
        confidence = _number(args.get("confidence"))
    edited = _edited_groups(review.resolution) if review.status == ReviewStatus.edited else None
    final = edited if edited is not None else after
    diff = group_diff(before, final, catalog, privilege)
    counts: dict[Change, int] = {"added": 0, "removed": 0, "kept": 0}
    for line in diff:
        counts[line.change] += 1
    edit_by = next(
        (str(a.get("by")) for a in review.approvals if a.get("decision") == "edit"), None
    )
    return ReviewView(
        id=review.id,
        status=str(review.status),
        event_type=review.event_type,
        subject=review.subject,
        occurred_at=as_utc(review.occurred_at),
        created_at=as_utc(review.created_at),
        due_at=as_utc(review.due_at),
        decided_at=as_utc(review.decided_at) if review.decided_at else None,
        overdue=review.status == ReviewStatus.pending and as_utc(review.due_at) < now,
        user_action=str(args.get("user_action") or "update"),
        diff=diff,
        before=before,
        proposed=after,
        rules=[FiredRule(rule_id, str(reasons.get(rule_id, ""))) for rule_id in rule_ids],
        flags=list(dict.fromkeys([*review.flags, *_strings(args.get("flags"))])),
        confidence=confidence,
        rationale=str(args.get("rationale") or ""),
        evidence=_strings(args.get("evidence")),
        candidates=candidates,
        view=_view_fields(view),
        description=str(request.get("description") or ""),
        required_approvals=review.required_approvals,
        approvals=_entries(review.approvals, "decision", DECISION_WORDS),
        approvals_given=sum(1 for a in review.approvals if a.get("decision") in ("accept", "edit")),
        comments=_entries(review.comments, "text", {}),
        pending_edit=(
            group_diff(before, pending_groups, catalog, privilege)
            if pending_groups is not None and review.status == ReviewStatus.pending
            else None
        ),
        pending_edit_by=edit_by,
        resolution=_resolution(review, catalog),
        age=age(review.created_at, now),
        counts=counts,
        roles=_proposed_roles(args, after, catalog),
        final_roles=_roles(final, catalog) if edited is not None else [],
        proposal_diff=group_diff(before, after, catalog, privilege) if edited is not None else None,
        edited_by=edit_by if edited is not None else None,
    )


# --- a safe subset of markdown ---------------------------------------------------------------

_CODE = re.compile(r"`([^`\n]+)`")
_STRONG = re.compile(r"\*\*([^*\n]+)\*\*")


def _inline(text: str) -> str:
    """Escape first, then wrap: the only tags that can appear are the ones added here."""
    escaped = str(escape(text))
    escaped = _CODE.sub(r"<code>\1</code>", escaped)
    return _STRONG.sub(r"<strong>\1</strong>", escaped)


def markdown_lite(text: str) -> Markup:
    """Paragraphs, ``- `` lists, ``**strong**`` and ``code``: what review descriptions use.

    Data never becomes markup: every character of ``text`` is escaped before the fixed tags
    are put around it, so a title like ``<img onerror=...>`` shows as text."""
    out: list[str] = []
    in_list = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(("- ", "* ")):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{_inline(line[2:])}</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        if line:
            out.append(f"<p>{_inline(line)}</p>")
    if in_list:
        out.append("</ul>")
    return Markup("\n".join(out))  # noqa: S704 - every piece of data in it was escaped
