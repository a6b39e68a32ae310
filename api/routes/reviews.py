"""The reviewer queue: list, read and decide paused changes.

Thin on purpose: every rule (who may approve, what an edit may contain, when a run resumes)
lives in ``core.reviews``; this router maps its errors onto problem responses. Decisions
never run the graph here: they reopen the inbox row and a worker resumes the run, so a
decision survives a restart of either side.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.engine import Engine

from api.auth import AdminDep, ReviewerDep, require_roles
from api.deps import CatalogDep, EngineDep, VaultKeysDep
from api.problems import ApiError, Problem
from core import reviews
from core.api_keys import Role
from core.catalog import Catalog
from core.reviews import ReviewFilter, ReviewPublic, ReviewStatus
from core.vault import pseudonym

router = APIRouter(prefix="/reviews", tags=["reviews"])
MAX_AGE_HOURS = 24 * 365
"""``older_than_hours`` at most a year (as on the web page): older reviews are long overdue
and escalated, and an unbounded value overflowed ``timedelta`` (a 500)."""
ReadAccess = Depends(require_roles(Role.reviewer, Role.admin, Role.auditor))
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem},
    403: {"model": Problem},
    404: {"model": Problem},
    409: {"model": Problem},
    422: {"model": Problem},
}


class HumanResponse(BaseModel):
    """Agent Inbox ``HumanResponse``: ``accept``; ``edit`` with ``{action, args: {groups}}``;
    ``ignore`` (reject); ``response`` (a comment: recorded, resumes nothing)."""

    type: Literal["accept", "edit", "ignore", "response"]
    args: str | dict[str, Any] | None = None


class DecisionOut(BaseModel):
    review: ReviewPublic
    resumed: bool = Field(description="True when this decision closed the review.")


class ReviewPage(BaseModel):
    items: list[ReviewPublic]
    next: str | None = Field(description="Pass as `after` for the next page.")
    counts: dict[str, int]


ReviewId = Annotated[str, StringConstraints(min_length=1, pattern=r"^[^\x00]+$")]
"""No NUL: PostgreSQL refuses to bind one (a 500); an unknown id is refused per item."""


class BulkDecision(BaseModel):
    ids: list[ReviewId] = Field(min_length=1, max_length=500)
    response: HumanResponse


class BulkItem(BaseModel):
    id: str
    outcome: Literal["resumed", "recorded", "refused"]
    detail: str = ""


def _filter(
    vault_keys: VaultKeysDep,
    status: ReviewStatus | None = ReviewStatus.pending,
    rule: str | None = None,
    flag: str | None = None,
    min_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    older_than_hours: Annotated[
        float | None,
        Query(ge=0, le=MAX_AGE_HOURS, description=f"Hours, 0 to {MAX_AGE_HOURS} (a year)."),
    ] = None,
    employee: Annotated[str | None, Query(description="HRIS external id")] = None,
) -> ReviewFilter:
    subject = pseudonym(employee, secret=vault_keys.pseudonym) if employee is not None else None
    return ReviewFilter(
        status=status,
        rule=rule,
        flag=flag,
        min_confidence=min_confidence,
        max_confidence=max_confidence,
        older_than=timedelta(hours=older_than_hours) if older_than_hours is not None else None,
        subject=subject,
    )


FilterDep = Annotated[ReviewFilter, Depends(_filter)]


def _problem(error: reviews.ReviewError) -> ApiError:
    titles = {404: "Not found", 409: "Conflict", 410: "Gone", 422: "Invalid decision"}
    return ApiError(error.status, titles.get(error.status, "Refused"), error.detail)


@router.get("", response_model=ReviewPage, dependencies=[ReadAccess], responses=ERRORS)
def list_reviews(
    engine: EngineDep,
    where: FilterDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: str | None = None,
) -> ReviewPage:
    rows = reviews.list_reviews(engine, where=where, limit=limit + 1, after=after)
    page = rows[:limit]
    return ReviewPage(
        items=[ReviewPublic.model_validate(r, from_attributes=True) for r in page],
        next=page[-1].id if len(rows) > limit else None,
        counts=reviews.counts(engine),
    )


@router.get(
    "/{review_id}", response_model=ReviewPublic, dependencies=[ReadAccess], responses=ERRORS
)
def get_review(review_id: str, engine: EngineDep) -> ReviewPublic:
    try:
        review = reviews.get_review(engine, review_id=review_id)
    except reviews.ReviewError as error:
        raise _problem(error) from error
    return ReviewPublic.model_validate(review, from_attributes=True)


def decide_one(
    engine: Engine, catalog: Catalog, *, review_id: str, reviewer: str, response: HumanResponse
) -> reviews.DecisionResult:
    return reviews.decide(
        engine,
        review_id=review_id,
        reviewer=reviewer,
        response=response.model_dump(),
        catalog_ids=catalog.by_id,
    )


@router.post("/{review_id}/decision", response_model=DecisionOut, responses=ERRORS)
def decide(
    review_id: str,
    response: HumanResponse,
    principal: ReviewerDep,
    engine: EngineDep,
    catalog: CatalogDep,
) -> DecisionOut:
    try:
        result = decide_one(
            engine, catalog, review_id=review_id, reviewer=principal.name, response=response
        )
    except reviews.ReviewError as error:
        raise _problem(error) from error
    review = ReviewPublic.model_validate(result.review, from_attributes=True)
    return DecisionOut(review=review, resumed=result.resumed)


@router.post("/decisions", response_model=list[BulkItem], responses=ERRORS)
def decide_many(
    body: BulkDecision, principal: ReviewerDep, engine: EngineDep, catalog: CatalogDep
) -> list[BulkItem]:
    """Accept or reject many at once; each review is decided on its own, so one conflict
    does not undo the others. A review flagged as a possible prompt injection is refused by a
    bulk accept (decide it on its own)."""
    if body.response.type not in ("accept", "ignore"):
        raise ApiError(422, "Invalid decision", "bulk decisions are accept or ignore only")
    results = []
    for review_id in dict.fromkeys(body.ids):
        if body.response.type == "accept" and (
            passed_by := reviews.bulk_accept_refusal(engine, review_id=review_id)
        ):
            results.append(BulkItem(id=review_id, outcome="refused", detail=passed_by))
            continue
        try:
            result = decide_one(
                engine,
                catalog,
                review_id=review_id,
                reviewer=principal.name,
                response=body.response,
            )
        except reviews.ReviewError as error:
            results.append(BulkItem(id=review_id, outcome="refused", detail=error.detail))
            continue
        results.append(BulkItem(id=review_id, outcome="resumed" if result.resumed else "recorded"))
    return results


class RevealOut(BaseModel):
    placeholders: dict[str, str] = Field(
        description="Placeholder (e.g. <PERSON_1>) -> the value it replaced in this run."
    )


@router.post(
    "/{review_id}/reveal",
    response_model=RevealOut,
    responses={**ERRORS, 410: {"model": Problem}},
)
def reveal(
    review_id: str, principal: AdminDep, engine: EngineDep, vault_keys: VaultKeysDep
) -> RevealOut:
    """Admins only, and on the record: every reveal is an audit entry (``pii_reveal``)."""
    try:
        values = reviews.reveal_personal_data(
            engine,
            review_id=review_id,
            admin=principal.name,
            master_key=vault_keys.master,
        )
    except reviews.ReviewError as error:
        raise _problem(error) from error
    return RevealOut(placeholders=values)
