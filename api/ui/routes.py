"""The reviewer pages: the queue, one review, and the decisions made on them.

Thin like the JSON API in ``api.routes.reviews``: who may approve, what an edit may contain
and when a run resumes is decided by ``core.reviews``; these views turn its answers (and
its refusals) into HTML and readable sentences. A decision answers with the re-rendered
review (htmx swaps it in place), so the reviewer sees the new status, the approvals and any
refusal without leaving the page.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.engine import Engine

from api.deps import CatalogDep, EngineDep, SettingsDep
from api.problems import ApiError
from api.ui import session as ui
from api.ui.present import ReviewView, markdown_lite, review_view, short_subject
from api.ui.session import DeciderDep, FormDep, UiSession, UiSessionDep, first
from core import reviews
from core.catalog import Catalog, GroupKind
from core.db import as_utc, utcnow
from core.reviews import ReviewFilter, ReviewStatus
from core.settings import Settings
from core.vault import PSEUDONYM_PREFIX, load_keys, pseudonym

log = logging.getLogger(__name__)

router = APIRouter(prefix="/ui", include_in_schema=False)

TEMPLATES = Path(__file__).parent / "templates"
PAGE_SIZE = 50
MAX_BULK = 500
MAX_COMMENT_CHARS = 2000
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""Everything from this app and nothing inline: a value that slipped past escaping still
could not run, and the pages load nothing from elsewhere."""
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Vary": "Cookie, HX-Request, HX-Target",
}

templates = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["markdown"] = markdown_lite


def _utc(moment: datetime | None) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC") if moment is not None else ""


def _iso(moment: datetime | None) -> str:
    return as_utc(moment).isoformat() if moment is not None else ""


templates.filters["utc"] = _utc
templates.filters["iso"] = _iso


def render(
    name: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    html = templates.get_template(name).render(**context)
    response = HTMLResponse(html, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    response.headers.update(headers or {})
    return response


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


@dataclass(frozen=True)
class Banner:
    """The outcome of an action, in words; ``ok`` picks the colour and the ARIA role."""

    ok: bool
    text: str


# --- filters ---------------------------------------------------------------------------------


@dataclass
class QueueFilters:
    """The queue's filters as the person typed them, so the form shows them back; the
    employee's HRIS id is never kept: it becomes the pseudonymous ``subject`` at once."""

    status: str = ReviewStatus.pending.value
    rule: str = ""
    flag: str = ""
    min_confidence: str = ""
    max_confidence: str = ""
    older_than_hours: str = ""
    subject: str = ""
    problems: list[str] = field(default_factory=list)

    def query(self, **extra: str) -> str:
        pairs = {
            "status": self.status,
            "rule": self.rule,
            "flag": self.flag,
            "min_confidence": self.min_confidence,
            "max_confidence": self.max_confidence,
            "older_than_hours": self.older_than_hours,
            "subject": self.subject,
            **extra,
        }
        return urlencode({k: v for k, v in pairs.items() if v})

    def where(self) -> ReviewFilter:
        older = _number(self.older_than_hours)
        return ReviewFilter(
            status=None if self.status == "any" else ReviewStatus(self.status),
            rule=self.rule or None,
            flag=self.flag or None,
            min_confidence=_number(self.min_confidence),
            max_confidence=_number(self.max_confidence),
            older_than=timedelta(hours=older) if older is not None else None,
            subject=self.subject or None,
        )

    @property
    def subject_short(self) -> str:
        return short_subject(self.subject)


def _number(text: str) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def parse_filters(values: Mapping[str, str], settings: Settings) -> QueueFilters:
    """Lenient: a value that does not parse is dropped with a sentence saying so, instead of
    a 422 page that would lose the rest of the filters."""
    found = QueueFilters()
    status = values.get("status", ReviewStatus.pending.value).strip() or "any"
    if status == "any" or status in {s.value for s in ReviewStatus}:
        found.status = status
    else:
        found.problems.append(f"Unknown status {status!r}: showing pending reviews.")
    found.rule = values.get("rule", "").strip()[:64]
    found.flag = values.get("flag", "").strip()[:64]
    for name, low, high in (
        ("min_confidence", 0.0, 1.0),
        ("max_confidence", 0.0, 1.0),
        ("older_than_hours", 0.0, 24.0 * 365),
    ):
        text = values.get(name, "").strip()
        number = _number(text)
        if text and (number is None or not low <= number <= high):
            label = name.replace("_", " ")
            found.problems.append(
                f"Ignored {label} {text!r}: give a number from {low:g} to {high:g}."
            )
            continue
        setattr(found, name, text)
    employee = values.get("employee", "").strip()
    if employee:
        found.subject = pseudonym(employee, secret=load_keys(settings).pseudonym)
    else:
        subject = values.get("subject", "").strip()
        found.subject = (
            subject if subject.startswith(PSEUDONYM_PREFIX) and len(subject) <= 128 else ""
        )
    return found


@lru_cache(maxsize=4)
def _policy_rule_ids(path: Path | None) -> tuple[str, ...]:
    """Rule ids for the filter's suggestions; the filter still takes any text, so a policy
    that cannot be read only costs the suggestions."""
    try:
        from agents.policy.rules import load_policy

        return tuple(rule.id for rule in load_policy(path).rules)
    except Exception:  # the suggestions are a convenience, never a reason to fail the page
        log.warning("could not read the review policy for the rule filter", exc_info=True)
        return ()


def _known_flags() -> tuple[str, ...]:
    try:
        from agents.policy.rules import KNOWN_FLAGS

        return tuple(sorted(KNOWN_FLAGS))
    except ImportError:
        return ()


# --- the queue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkOutcome:
    id: str
    ok: bool
    text: str


def _queue_context(
    session: UiSession,
    engine: Engine,
    settings: Settings,
    catalog: Catalog,
    filters: QueueFilters,
    *,
    after: str | None = None,
    outcomes: list[BulkOutcome] | None = None,
    banner: Banner | None = None,
) -> dict[str, Any]:
    rows = reviews.list_reviews(engine, where=filters.where(), limit=PAGE_SIZE + 1, after=after)
    page = rows[:PAGE_SIZE]
    now = utcnow()
    counts = reviews.counts(engine)
    return {
        "session": session,
        "filters": filters,
        "items": [review_view(r, catalog, now) for r in page],
        "next_after": page[-1].id if len(rows) > PAGE_SIZE else None,
        "after": after,
        "counts": [(s.value, counts.get(s.value, 0)) for s in ReviewStatus],
        "total": sum(counts.values()),
        "statuses": [s.value for s in ReviewStatus],
        "rule_ids": _policy_rule_ids(settings.review_policy_path),
        "flags": _known_flags(),
        "outcomes": outcomes or [],
        "banner": banner,
    }


@router.get("")
def home() -> RedirectResponse:
    return RedirectResponse(ui.HOME_PATH, status_code=303)


@router.get("/reviews")
def queue(
    request: Request,
    session: UiSessionDep,
    engine: EngineDep,
    settings: SettingsDep,
    catalog: CatalogDep,
) -> Response:
    filters = parse_filters(request.query_params, settings)
    after = request.query_params.get("after") or None
    canonical = f"{ui.HOME_PATH}?{filters.query(after=after or '')}".rstrip("?")
    partial = (
        _is_htmx(request)
        and request.headers.get("hx-target") == "queue"
        and request.headers.get("hx-history-restore-request") != "true"
    )
    if "employee" in request.query_params and not partial:
        # the HRIS id must not stay in the address bar, the history or a bookmark
        return RedirectResponse(canonical, status_code=303)
    context = _queue_context(session, engine, settings, catalog, filters, after=after)
    if partial:
        return render("_queue.html", context, headers={"HX-Push-Url": canonical})
    return render("queue.html", context)


def _bulk_outcome(result: reviews.DecisionResult, action: str) -> str:
    review = result.review
    if result.resumed:
        return "rejected: the LMS stays as it was" if action == "reject" else "approved: queued"
    given = sum(1 for a in review.approvals if a.get("decision") in ("accept", "edit"))
    return f"approval recorded ({given} of {review.required_approvals}): needs another reviewer"


@router.post("/reviews/bulk/{action}")
def bulk(
    action: Literal["approve", "reject"],
    session: DeciderDep,
    form: FormDep,
    engine: EngineDep,
    settings: SettingsDep,
    catalog: CatalogDep,
) -> Response:
    """Each review is decided on its own, as in the API: one conflict does not undo the
    others, and each line of the answer says what happened to which review."""
    filters = parse_filters({k: v[-1] for k, v in form.items() if v}, settings)
    ids = list(dict.fromkeys(i for i in form.get("ids", []) if i))
    if not ids or len(ids) > MAX_BULK:
        text = (
            "Select at least one review first (the checkboxes in the first column)."
            if not ids
            else f"Select at most {MAX_BULK} reviews at a time."
        )
        context = _queue_context(
            session, engine, settings, catalog, filters, banner=Banner(False, text)
        )
        return render("_queue.html", context, status=422)
    response = {"type": "accept" if action == "approve" else "ignore", "args": None}
    outcomes = []
    for review_id in ids:
        try:
            result = reviews.decide(
                engine,
                review_id=review_id,
                reviewer=session.principal.name,
                response=response,
                catalog_ids=catalog.by_id,
            )
        except reviews.ReviewError as error:
            outcomes.append(
                BulkOutcome(review_id, False, refusal(error, engine, session, review_id))
            )
            continue
        outcomes.append(BulkOutcome(review_id, True, _bulk_outcome(result, action)))
    done = sum(1 for o in outcomes if o.ok)
    log.info("UI bulk %s by %s: %d of %d", action, session.principal.name, done, len(ids))
    verb = "Approved" if action == "approve" else "Rejected"
    banner = Banner(done == len(ids), f"{verb} {done} of {len(ids)} selected reviews.")
    context = _queue_context(
        session, engine, settings, catalog, filters, outcomes=outcomes, banner=banner
    )
    return render("_queue.html", context)


# --- one review ------------------------------------------------------------------------------


def refusal(error: reviews.ReviewError, engine: Engine, session: UiSession, review_id: str) -> str:
    """``core.reviews``'s refusals in the words a reviewer needs: what happened and what to
    do next."""
    if isinstance(error, reviews.ReviewNotFoundError):
        return "There is no such review."
    if isinstance(error, reviews.DuplicateApprovalError):
        return (
            f"You ({session.principal.name}) have already approved this review, and it needs "
            "approvals from different reviewers: another reviewer has to approve it."
        )
    if isinstance(error, reviews.ReviewClosedError):
        try:
            status = reviews.get_review(engine, review_id=review_id).status
        except reviews.ReviewError:
            status = "closed"
        return f"Already decided: this review is {status}, so your decision was not applied."
    if isinstance(error, reviews.InvalidEditError):
        return f"That edit was not accepted: {error.detail}."
    return error.detail


def _catalog_choices(catalog: Catalog) -> list[tuple[str, list[tuple[str, str]]]]:
    """All catalog groups by kind, for the edit form's multi-select."""
    order = list(GroupKind)
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for group in sorted(catalog.groups, key=lambda g: (order.index(g.kind), g.display_name)):
        by_kind.setdefault(group.kind.value, []).append((group.id, group.display_name))
    return list(by_kind.items())


def _review_context(
    session: UiSession,
    review: ReviewView,
    catalog: Catalog,
    *,
    banner: Banner | None = None,
    selection: list[str] | None = None,
    edit_open: bool = False,
) -> dict[str, Any]:
    return {
        "session": session,
        "review": review,
        "banner": banner,
        "choices": _catalog_choices(catalog),
        "selection": set(selection if selection is not None else review.proposed),
        "edit_open": edit_open,
        "max_comment": MAX_COMMENT_CHARS,
    }


@router.get("/reviews/{review_id}")
def detail(
    review_id: str, session: UiSessionDep, engine: EngineDep, catalog: CatalogDep
) -> Response:
    try:
        review = reviews.get_review(engine, review_id=review_id)
    except reviews.ReviewNotFoundError:
        return render(
            "error.html",
            {"session": session, "status": 404, "message": "There is no such review."},
            status=404,
        )
    view = review_view(review, catalog)
    return render("detail.html", _review_context(session, view, catalog))


def _decide(
    session: UiSession,
    engine: Engine,
    catalog: Catalog,
    review_id: str,
    response: dict[str, Any],
    *,
    selection: list[str] | None = None,
) -> Response:
    """Decide through ``core.reviews`` and answer with the review as it now is, with the
    outcome (or the refusal and its HTTP status) on top."""
    status = 200
    try:
        result = reviews.decide(
            engine,
            review_id=review_id,
            reviewer=session.principal.name,
            response=response,
            catalog_ids=catalog.by_id,
        )
        banner = Banner(True, _success(result, response["type"]))
        log.info(
            "UI %s on %s by %s (resumed=%s)",
            response["type"],
            review_id,
            session.principal.name,
            result.resumed,
        )
    except reviews.ReviewNotFoundError as error:
        return render(
            "_flash.html",
            {"banner": Banner(False, refusal(error, engine, session, review_id))},
            status=error.status,
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
        )
    except reviews.ReviewError as error:
        status, banner = error.status, Banner(False, refusal(error, engine, session, review_id))
        log.info("UI %s on %s refused: %s", response["type"], review_id, error.detail)
    view = review_view(reviews.get_review(engine, review_id=review_id), catalog)
    keep = selection if status == 422 else None
    context = _review_context(
        session, view, catalog, banner=banner, selection=keep, edit_open=keep is not None
    )
    return render("_review.html", context, status=status)


def _success(result: reviews.DecisionResult, kind: str) -> str:
    review = result.review
    if kind == "response":
        return "Comment added."
    if kind == "ignore":
        return "Rejected. The LMS stays as it was; the run records the rejection."
    if not result.resumed:
        given = sum(1 for a in review.approvals if a.get("decision") in ("accept", "edit"))
        what = "edit" if kind == "edit" else "approval"
        return (
            f"Your {what} is recorded ({given} of {review.required_approvals} approvals). "
            "Another reviewer must approve before anything changes."
        )
    if kind == "edit" or review.status == ReviewStatus.edited:
        return "Approved with your groups. The change is queued for the LMS."
    return "Approved. The change is queued for the LMS."


@router.post("/reviews/{review_id}/approve")
def approve(
    review_id: str, session: DeciderDep, engine: EngineDep, catalog: CatalogDep
) -> Response:
    return _decide(session, engine, catalog, review_id, {"type": "accept", "args": None})


@router.post("/reviews/{review_id}/reject")
def reject(review_id: str, session: DeciderDep, engine: EngineDep, catalog: CatalogDep) -> Response:
    return _decide(session, engine, catalog, review_id, {"type": "ignore", "args": None})


@router.post("/reviews/{review_id}/edit")
def edit(
    review_id: str,
    session: DeciderDep,
    form: FormDep,
    engine: EngineDep,
    catalog: CatalogDep,
) -> Response:
    """The checkboxes (groups of the proposal) and the multi-select (the rest of the
    catalog) both post ``groups``; ``core.reviews`` checks every id against the catalog."""
    groups = list(dict.fromkeys(g for g in form.get("groups", []) if g))
    if not groups:
        try:
            view = review_view(reviews.get_review(engine, review_id=review_id), catalog)
        except reviews.ReviewNotFoundError as error:
            raise ui.UiRefusedError(404, refusal(error, engine, session, review_id)) from None
        banner = Banner(
            False,
            "Choose at least one group. To leave the LMS as it is, reject the change instead.",
        )
        context = _review_context(
            session, view, catalog, banner=banner, selection=[], edit_open=True
        )
        return render("_review.html", context, status=422)
    response = {"type": "edit", "args": {"action": "provision", "args": {"groups": groups}}}
    return _decide(session, engine, catalog, review_id, response, selection=groups)


@router.post("/reviews/{review_id}/comment")
def comment(
    review_id: str,
    session: DeciderDep,
    form: FormDep,
    engine: EngineDep,
    catalog: CatalogDep,
) -> Response:
    text = first(form, "text").strip()
    if not text or len(text) > MAX_COMMENT_CHARS:
        try:
            view = review_view(reviews.get_review(engine, review_id=review_id), catalog)
        except reviews.ReviewNotFoundError as error:
            raise ui.UiRefusedError(404, refusal(error, engine, session, review_id)) from None
        message = (
            "Write a comment first."
            if not text
            else f"Comments are at most {MAX_COMMENT_CHARS} characters."
        )
        context = _review_context(session, view, catalog, banner=Banner(False, message))
        return render("_review.html", context, status=422)
    return _decide(session, engine, catalog, review_id, {"type": "response", "args": text})


# --- signing in and out ----------------------------------------------------------------------

SIGN_IN_MESSAGES = {
    "expired": "Your sign-in is no longer valid (expired, revoked or changed). Sign in again.",
    "signed_out": "You are signed out.",
}


def _sign_in_page(
    request: Request, *, next_path: str, message: str | None, error: str | None, status: int
) -> HTMLResponse:
    """The form carries a random token that must come back with the same value as its
    cookie, so another site cannot sign a browser in under someone else's key."""
    form_token = secrets.token_urlsafe(24)
    response = render(
        "sign_in.html",
        {
            "session": None,
            "next": next_path,
            "form_token": form_token,
            "message": message,
            "error": error,
        },
        status=status,
    )
    response.set_cookie(
        ui.SIGN_IN_COOKIE,
        form_token,
        max_age=ui.SIGN_IN_FORM_MAX_AGE_S,
        path=ui.SIGN_IN_PATH,
        secure=ui.is_secure(request),
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/sign-in")
def sign_in_form(request: Request) -> HTMLResponse:
    params = request.query_params
    message = next((SIGN_IN_MESSAGES[k] for k in SIGN_IN_MESSAGES if params.get(k)), None)
    return _sign_in_page(
        request, next_path=ui.safe_next(params.get("next")), message=message, error=None, status=200
    )


@router.post("/sign-in")
def sign_in(request: Request, form: FormDep, settings: SettingsDep, engine: EngineDep) -> Response:
    next_path = ui.safe_next(first(form, "next"))
    expected = request.cookies.get(ui.SIGN_IN_COOKIE, "")
    given = first(form, "form_token")
    if not expected or not secrets.compare_digest(expected.encode(), given.encode()):
        return _sign_in_page(
            request,
            next_path=next_path,
            message=None,
            error="The sign-in form had expired. Paste your key again and sign in.",
            status=403,
        )
    credential = first(form, "credential").strip()
    if not ui.well_formed(credential):
        return _sign_in_page(
            request,
            next_path=next_path,
            message=None,
            error="Paste an API key (tsk_...) or an access token from your identity provider.",
            status=400,
        )
    try:
        principal = ui.identify(request, credential, settings, engine)
    except ApiError as refused:
        log.info("UI sign-in refused: %s", refused.detail)
        return _sign_in_page(
            request,
            next_path=next_path,
            message=None,
            error=f"Sign-in refused: {refused.detail}.",
            status=refused.status,
        )
    if not principal.has_any(ui.READ_ROLES):
        return _sign_in_page(
            request,
            next_path=next_path,
            message=None,
            error=f"{principal.name} has no reviewer, admin or auditor role.",
            status=403,
        )
    log.info("UI sign-in: %s via %s", principal.name, principal.via)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        ui.COOKIE,
        credential,
        max_age=ui.SESSION_MAX_AGE_S,
        path=ui.COOKIE_PATH,
        secure=ui.is_secure(request),
        httponly=True,
        samesite="strict",
    )
    response.delete_cookie(ui.SIGN_IN_COOKIE, path=ui.SIGN_IN_PATH)
    return response


@router.post("/sign-out")
def sign_out(request: Request, form: FormDep) -> RedirectResponse:
    """Forgets the credential in this browser; it stays valid elsewhere (revoke the key for
    that). Checked against forgery, or any site could sign a reviewer out."""
    credential = request.cookies.get(ui.COOKIE, "")
    given = request.headers.get(ui.CSRF_HEADER) or first(form, ui.CSRF_FIELD)
    if credential and not secrets.compare_digest(
        given.encode(), ui.csrf_token(credential).encode()
    ):
        raise ui.UiRefusedError(403, "Sign-out must be sent from a TalentSync page.")
    response = RedirectResponse(f"{ui.SIGN_IN_PATH}?signed_out=1", status_code=303)
    response.delete_cookie(ui.COOKIE, path=ui.COOKIE_PATH)
    return response
