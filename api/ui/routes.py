"""The reviewer pages: the queue, one review, and the decisions made on them.

Thin like the JSON API in ``api.routes.reviews``: who may approve, what an edit may contain
and when a run resumes is decided by ``core.reviews``; these views turn its answers (and
its refusals) into HTML and readable sentences. A decision answers with the re-rendered
review (htmx swaps it in place), so the reviewer sees the new status, the approvals and any
refusal without leaving the page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.engine import Engine

from api.deps import CatalogDep, EngineDep, SettingsDep, VaultKeysDep
from api.ui import session as ui
from api.ui.pages import Banner, flash, is_htmx, render
from api.ui.pick_lists import choices
from api.ui.policy import Privilege, known_flags, privilege_of, rule_ids
from api.ui.present import ReviewView, review_view
from api.ui.queue_filters import QueueFilters, parse_filters
from api.ui.session import DeciderDep, FormDep, UiSession, UiSessionDep, first
from core import reviews
from core.catalog import Catalog, GroupKind
from core.db import utcnow
from core.reviews import DANGER_FLAGS, Review, ReviewStatus
from core.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter(prefix="/ui", include_in_schema=False)

PAGE_SIZE = 50
MAX_BULK = 500
MAX_COMMENT_CHARS = 2000


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
    where = filters.where()
    rows = reviews.list_reviews(engine, where=where, limit=PAGE_SIZE + 1, after=after)
    page = rows[:PAGE_SIZE]
    now = utcnow()
    counts = reviews.counts(engine)
    labels = reviews.label_counts(engine, status=where.status)
    privilege = privilege_of(settings.review_policy_path)
    return {
        "session": session,
        "filters": filters,
        "items": [review_view(r, catalog, now, privilege=privilege) for r in page],
        "next_after": page[-1].id if len(rows) > PAGE_SIZE else None,
        "after": after,
        "counts": [(s.value, counts.get(s.value, 0)) for s in ReviewStatus],
        "total": sum(counts.values()),
        "statuses": [s.value for s in ReviewStatus],
        "rule_choices": choices(rule_ids(settings.review_policy_path), labels.rules, filters.rule),
        "flag_choices": choices(known_flags(), labels.flags, filters.flag),
        "outcomes": outcomes or [],
        "banner": banner,
        "danger_flags": DANGER_FLAGS,
        "oob": False,
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
    vault_keys: VaultKeysDep,
    catalog: CatalogDep,
) -> Response:
    filters = parse_filters(request.query_params, vault_keys)
    after = request.query_params.get("after") or None
    canonical = f"{ui.HOME_PATH}?{filters.query(after=after or '')}".rstrip("?")
    partial = (
        is_htmx(request)
        and request.headers.get("hx-target") == "queue"
        and request.headers.get("hx-history-restore-request") != "true"
    )
    if "employee" in request.query_params and not partial:
        # the HRIS id must not stay in the address bar, the history or a bookmark
        return RedirectResponse(canonical, status_code=303)
    context = _queue_context(session, engine, settings, catalog, filters, after=after)
    if partial:  # the pick lists' counts follow the status shown
        context["oob"] = True
        return render("_queue.html", context, headers={"HX-Push-Url": canonical})
    return render("queue.html", context)


def _decide_as(
    session: UiSession, engine: Engine, catalog: Catalog, review_id: str, response: dict[str, Any]
) -> reviews.DecisionResult:
    """One decision through ``core.reviews``, in the signed-in person's name, its groups
    checked against the catalog: the same call for one review and for each of a bulk."""
    return reviews.decide(
        engine,
        review_id=review_id,
        reviewer=session.principal.name,
        response=response,
        catalog_ids=catalog.by_id,
    )


def _approvals_given(review: Review) -> int:
    return sum(1 for a in review.approvals if a.get("decision") in ("accept", "edit"))


def _bulk_outcome(result: reviews.DecisionResult, action: str) -> str:
    review = result.review
    if result.resumed:
        return "rejected: the LMS stays as it was" if action == "reject" else "approved: queued"
    given = _approvals_given(review)
    return f"approval recorded ({given} of {review.required_approvals}): needs another reviewer"


@router.post("/reviews/bulk/{action}")
def bulk(
    action: Literal["approve", "reject"],
    session: DeciderDep,
    form: FormDep,
    engine: EngineDep,
    settings: SettingsDep,
    vault_keys: VaultKeysDep,
    catalog: CatalogDep,
) -> Response:
    """Each review is decided on its own, as in the API: one conflict does not undo the
    others, and each line of the answer says what happened to which review."""
    filters = parse_filters({k: v[-1] for k, v in form.items() if v}, vault_keys)
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
        return render("_queue.html", {**context, "oob": True}, status=422)
    response = {"type": "accept" if action == "approve" else "ignore", "args": None}
    outcomes = []
    for review_id in ids:
        if action == "approve" and (
            passed_by := reviews.bulk_accept_refusal(engine, review_id=review_id)
        ):
            outcomes.append(BulkOutcome(review_id, False, passed_by))
            continue
        try:
            result = _decide_as(session, engine, catalog, review_id, response)
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
    return render("_queue.html", {**context, "oob": True})


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


@dataclass(frozen=True)
class Reading:
    """What turns a review row into a page: the catalog (names, kinds) and the policy's
    privileged tags (the marks on groups)."""

    catalog: Catalog
    privilege: Privilege

    def view(self, review: Review, now: datetime | None = None) -> ReviewView:
        return review_view(review, self.catalog, now, privilege=self.privilege)


def _reading(catalog: CatalogDep, settings: SettingsDep) -> Reading:
    return Reading(catalog, privilege_of(settings.review_policy_path))


ReadingDep = Annotated[Reading, Depends(_reading)]


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
        "danger_flags": DANGER_FLAGS,
    }


def _form_refused(
    session: UiSession,
    engine: Engine,
    reading: Reading,
    review_id: str,
    message: str,
    *,
    edit_open: bool = False,
) -> Response:
    """A form that cannot be sent as it is (422): the review as it is now, with why on top;
    ``edit_open`` shows the edit form again, nothing chosen. A review that does not exist
    is refused as the page (404), not shown."""
    try:
        view = reading.view(reviews.get_review(engine, review_id=review_id))
    except reviews.ReviewNotFoundError as error:
        raise ui.UiRefusedError(404, refusal(error, engine, session, review_id)) from None
    context = _review_context(
        session,
        view,
        reading.catalog,
        banner=Banner(False, message),
        selection=[] if edit_open else None,
        edit_open=edit_open,
    )
    return render("_review.html", context, status=422)


@router.get("/reviews/{review_id}")
def detail(
    review_id: str, session: UiSessionDep, engine: EngineDep, reading: ReadingDep
) -> Response:
    try:
        review = reviews.get_review(engine, review_id=review_id)
    except reviews.ReviewNotFoundError:
        return render(
            "error.html",
            {"session": session, "status": 404, "message": "There is no such review."},
            status=404,
        )
    view = reading.view(review)
    return render("detail.html", _review_context(session, view, reading.catalog))


def _decide(
    session: UiSession,
    engine: Engine,
    reading: Reading,
    review_id: str,
    response: dict[str, Any],
    *,
    selection: list[str] | None = None,
) -> Response:
    """Decide through ``core.reviews`` and answer with the review as it now is, with the
    outcome (or the refusal and its HTTP status) on top."""
    status = 200
    try:
        result = _decide_as(session, engine, reading.catalog, review_id, response)
        banner = Banner(True, _success(result, response["type"]))
        log.info(
            "UI %s on %s by %s (resumed=%s)",
            response["type"],
            review_id,
            session.principal.name,
            result.resumed,
        )
    except reviews.ReviewNotFoundError as error:
        return flash(Banner(False, refusal(error, engine, session, review_id)), status=error.status)
    except reviews.ReviewError as error:
        status, banner = error.status, Banner(False, refusal(error, engine, session, review_id))
        log.info("UI %s on %s refused: %s", response["type"], review_id, error.detail)
    view = reading.view(reviews.get_review(engine, review_id=review_id))
    keep = selection if status == 422 else None
    context = _review_context(
        session, view, reading.catalog, banner=banner, selection=keep, edit_open=keep is not None
    )
    return render("_review.html", context, status=status)


def _success(result: reviews.DecisionResult, kind: str) -> str:
    review = result.review
    if kind == "response":
        return "Comment added."
    if kind == "ignore":
        return "Rejected. The LMS stays as it was; the run records the rejection."
    if not result.resumed:
        given = _approvals_given(review)
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
    review_id: str, session: DeciderDep, engine: EngineDep, reading: ReadingDep
) -> Response:
    return _decide(session, engine, reading, review_id, {"type": "accept", "args": None})


@router.post("/reviews/{review_id}/reject")
def reject(review_id: str, session: DeciderDep, engine: EngineDep, reading: ReadingDep) -> Response:
    return _decide(session, engine, reading, review_id, {"type": "ignore", "args": None})


@router.post("/reviews/{review_id}/edit")
def edit(
    review_id: str,
    session: DeciderDep,
    form: FormDep,
    engine: EngineDep,
    reading: ReadingDep,
) -> Response:
    """The checkboxes (groups of the proposal) and the multi-select (the rest of the
    catalog) both post ``groups``; ``core.reviews`` checks every id against the catalog."""
    groups = list(dict.fromkeys(g for g in form.get("groups", []) if g))
    if not groups:
        return _form_refused(
            session,
            engine,
            reading,
            review_id,
            "Choose at least one group. To leave the LMS as it is, reject the change instead.",
            edit_open=True,
        )
    response = {"type": "edit", "args": {"action": "provision", "args": {"groups": groups}}}
    return _decide(session, engine, reading, review_id, response, selection=groups)


@router.post("/reviews/{review_id}/comment")
def comment(
    review_id: str,
    session: DeciderDep,
    form: FormDep,
    engine: EngineDep,
    reading: ReadingDep,
) -> Response:
    text = first(form, "text").strip()
    if not text or len(text) > MAX_COMMENT_CHARS:
        message = (
            "Write a comment first."
            if not text
            else f"Comments are at most {MAX_COMMENT_CHARS} characters."
        )
        return _form_refused(session, engine, reading, review_id, message)
    return _decide(session, engine, reading, review_id, {"type": "response", "args": text})
