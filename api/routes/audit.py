"""The audit trail over HTTP, read-only: auditors and admins query, export and verify it.

Nothing here writes: entries are appended by the code that does what they describe, never
through the API (``tests`` assert this router has GET routes only). Reads are logged with
the caller and the filters; an employee is logged by pseudonym, never by HRIS id.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator, BaseModel, Field, ValidationError
from sqlalchemy.engine import Engine

from api.auth import Principal, Role, require_roles
from api.deps import EngineDep, ReasoningDep, VaultKeysDep
from api.problems import ApiError, Problem
from core import audit
from core.audit import AuditAction, AuditEntryPublic, AuditFilter, VerifyReport
from core.db import as_utc
from core.vault import VaultKeys, pseudonym
from vectorstore.audit_search import search_audit

log = logging.getLogger(__name__)

_reader = require_roles(Role.auditor, Role.admin)
ReaderDep = Annotated[Principal, Depends(_reader)]

router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[Depends(_reader)])

PAGE_DEFAULT = 100
PAGE_MAX = 1000
SEQ_MAX = 2**63 - 1
"""The largest ``seq`` a database integer holds; a larger number is no entry, and SQLite
refuses to bind it (an OverflowError, which was a 500)."""
EXPORT_MAX = 10**9
"""Most entries one export may ask for (``limit`` with jsonl/csv); unset means all."""
EXPORT_PAGE = 1000
_MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def _in_utc(moment: datetime) -> datetime:
    """Aware UTC, as the filter compares it; a moment that leaves the calendar when moved
    to UTC (``0001-01-01T00:00+14:00``) is a 422 naming the parameter, not an
    OverflowError (a 500)."""
    try:
        return as_utc(moment)
    except OverflowError:
        raise ValueError("out of range once converted to UTC") from None


UtcMoment = Annotated[datetime, AfterValidator(_in_utc)]


class AuditPage(BaseModel):
    items: list[AuditEntryPublic]
    next_after: int | None = None
    """Pass as ``after`` for the next page; ``None`` on the last page."""


class _RequestFilters(BaseModel):
    """A route's filters, declared as its query parameters (a query-parameter model), and
    the one way they become the trail's ``AuditFilter``."""

    def where(self, vault_keys: VaultKeys) -> AuditFilter:
        """The HRIS id becomes its pseudonym (it is never kept or logged); the filter's own
        checks (ranges) become a 422 naming them. Called in the view, after every parameter
        has passed FastAPI's checks, so a malformed one is reported first."""
        given = self.model_dump()
        employee, subject = given.pop("employee"), given.pop("subject")
        if employee is not None:
            if subject is not None:
                raise ApiError(422, "Invalid request", "give employee or subject, not both")
            subject = pseudonym(employee, secret=vault_keys.pseudonym)
        if "run" in given:
            given["receipt_id"] = given.pop("run")
        try:
            return AuditFilter(subject=subject, **given)
        except ValidationError as error:
            reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in error.errors())
            raise ApiError(422, "Invalid request", reasons) from None


class EntryFilters(_RequestFilters):
    """``GET /audit``: every field of the trail."""

    employee: Annotated[
        str | None, Field(max_length=128, description="HRIS id; matched through its pseudonym.")
    ] = None
    subject: Annotated[str | None, Field(max_length=68, description="Pseudonym.")] = None
    event_id: Annotated[str | None, Field(max_length=256)] = None
    run: Annotated[str | None, Field(max_length=64, description="Receipt (run) id.")] = None
    action: AuditAction | None = None
    actor: Annotated[str | None, Field(max_length=128)] = None
    rule: Annotated[str | None, Field(max_length=256)] = None
    min_confidence: Annotated[float | None, Field(ge=0, le=1)] = None
    max_confidence: Annotated[float | None, Field(ge=0, le=1)] = None
    since: Annotated[UtcMoment | None, Field(description="Inclusive; UTC if naive.")] = None
    until: Annotated[UtcMoment | None, Field(description="Exclusive; UTC if naive.")] = None


class SearchFilters(_RequestFilters):
    """``GET /audit/search``: who, when and how confident; the question does the rest."""

    employee: str | None = None
    subject: str | None = None
    since: UtcMoment | None = None
    until: UtcMoment | None = None
    min_confidence: Annotated[float | None, Field(ge=0, le=1)] = None
    max_confidence: Annotated[float | None, Field(ge=0, le=1)] = None


def _export(
    engine: Engine, where: AuditFilter, *, after: int, limit: int | None, output: str
) -> Iterator[str]:
    """Page by page, so an export of the whole trail streams in constant memory."""
    if output == "csv":
        header = io.StringIO()
        audit.export_csv([], header)
        yield header.getvalue()
    for page in audit.iter_query(
        engine, where=where, after_seq=after, limit=limit, page=EXPORT_PAGE
    ):
        buffer = io.StringIO()
        if output == "csv":
            audit.export_csv(page, buffer, header=False)
        else:
            audit.export_jsonl(page, buffer)
        yield buffer.getvalue()


@router.get(
    "",
    response_model=AuditPage,
    responses={
        200: {
            "content": {media: {} for media in _MEDIA_TYPES.values()},
            "description": "A page (json), or every match streamed (jsonl, csv).",
        },
        422: {"model": Problem},
    },
)
def list_entries(
    engine: EngineDep,
    vault_keys: VaultKeysDep,
    principal: ReaderDep,
    filters: Annotated[EntryFilters, Query()],
    after: Annotated[int, Query(ge=0, le=SEQ_MAX, description="Only entries after this seq.")] = 0,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=EXPORT_MAX,
            description=f"json: page size ({PAGE_DEFAULT}, at most {PAGE_MAX}); "
            f"jsonl/csv: at most this many, up to {EXPORT_MAX:,} (all when unset).",
        ),
    ] = None,
    output: Annotated[Literal["json", "jsonl", "csv"], Query(alias="format")] = "json",
) -> AuditPage | StreamingResponse:
    """Entries in seq order matching every given filter."""
    where = filters.where(vault_keys)
    log.info(
        "audit read by %s (%s): %s after %d",
        principal.name,
        output,
        where.model_dump(exclude_none=True, mode="json"),
        after,
    )
    if output != "json":
        return StreamingResponse(
            _export(engine, where, after=after, limit=limit, output=output),
            media_type=_MEDIA_TYPES[output],
            headers={"Content-Disposition": f'attachment; filename="audit.{output}"'},
        )
    size = PAGE_DEFAULT if limit is None else limit
    if size > PAGE_MAX:
        raise ApiError(422, "Invalid request", f"limit: at most {PAGE_MAX} per page")
    rows = audit.query(engine, where=where, limit=size, after_seq=after)
    return AuditPage(
        items=[audit.to_public(row) for row in rows],
        next_after=rows[-1].seq if len(rows) == size else None,
    )


@router.get("/verify", response_model=VerifyReport)
def verify_chain(engine: EngineDep, principal: ReaderDep) -> VerifyReport:
    """Walk the whole chain; a broken chain is a finding (``ok: false``), not an error."""
    log.info("audit chain verification requested by %s", principal.name)
    return audit.verify(engine)


class SearchHit(BaseModel):
    entry: AuditEntryPublic
    similarity: float
    text: str


@router.get("/search", response_model=list[SearchHit])
def search(
    engine: EngineDep,
    vault_keys: VaultKeysDep,
    reasoning: ReasoningDep,
    q: Annotated[str, Query(min_length=3, max_length=500, description="A question in words.")],
    k: Annotated[int, Query(ge=1, le=50)] = 10,
    *,
    filters: Annotated[SearchFilters, Query()],
) -> list[SearchHit]:
    """Decision entries whose reasoning is closest to the question, best first."""
    where = filters.where(vault_keys)
    return [
        SearchHit(entry=audit.to_public(hit.entry), similarity=hit.similarity, text=hit.text)
        for hit in search_audit(engine, reasoning, query=q, where=where, k=k)
    ]


@router.get("/{seq:int}", response_model=AuditEntryPublic, responses={404: {"model": Problem}})
def get_entry(seq: Annotated[int, Path(ge=1, le=SEQ_MAX)], engine: EngineDep) -> AuditEntryPublic:
    """``:int`` so that other paths under /audit (``/audit/search``) are not taken for a
    malformed seq."""
    row = audit.get_entry(engine, seq=seq)
    if row is None:
        raise ApiError(404, "Not found", f"no audit entry {seq}")
    return audit.to_public(row)
