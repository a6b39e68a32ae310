"""Reading the trail: filters, pages in chain order, the newest entries first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from core.audit.entry import AuditAction, AuditEntry, AuditEntryPublic, fields_of
from core.db import as_utc


class AuditFilter(BaseModel):
    """Every set field must match; times are ``since <= at < until``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str | None = None
    event_id: str | None = None
    receipt_id: str | None = None
    action: AuditAction | None = None
    actor: str | None = None
    rule: str | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    since: datetime | None = None
    until: datetime | None = None

    @model_validator(mode="after")
    def _ranges(self) -> AuditFilter:
        low, high = self.min_confidence, self.max_confidence
        if low is not None and high is not None and low > high:
            raise ValueError("min_confidence is above max_confidence")
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError("since must be before until")
        return self

    def clauses(self) -> list[ColumnElement[bool]]:
        matches: list[ColumnElement[bool]] = []
        for name in ("subject", "event_id", "receipt_id", "action", "actor", "rule"):
            value = getattr(self, name)
            if value is not None:
                matches.append(col(getattr(AuditEntry, name)) == value)
        if self.min_confidence is not None:
            matches.append(col(AuditEntry.confidence) >= self.min_confidence)
        if self.max_confidence is not None:
            matches.append(col(AuditEntry.confidence) <= self.max_confidence)
        if self.since is not None:
            matches.append(col(AuditEntry.at) >= as_utc(self.since))
        if self.until is not None:
            matches.append(col(AuditEntry.at) < as_utc(self.until))
        return matches


def query(
    engine: Engine, *, where: AuditFilter | None = None, limit: int = 100, after_seq: int = 0
) -> list[AuditEntry]:
    """One page in seq order; pass the last ``seq`` as ``after_seq`` for the next page
    (keyset pagination: every page costs the same however deep, and entries appended
    meanwhile never shift a page)."""
    statement = (
        select(AuditEntry)
        .where(col(AuditEntry.seq) > after_seq, *(where or AuditFilter()).clauses())
        .order_by(col(AuditEntry.seq))
        .limit(limit)
    )
    with Session(engine, expire_on_commit=False) as session:
        return list(session.exec(statement))


def iter_query(
    engine: Engine,
    *,
    where: AuditFilter | None = None,
    after_seq: int = 0,
    limit: int | None = None,
    page: int = 1000,
) -> Iterator[list[AuditEntry]]:
    """Every match (or the first ``limit``) page by page, for exports of any size."""
    left = limit
    while left is None or left > 0:
        size = page if left is None else min(page, left)
        rows = query(engine, where=where, limit=size, after_seq=after_seq)
        if not rows:
            return
        yield rows
        after_seq = rows[-1].seq
        if left is not None:
            left -= len(rows)
        if len(rows) < size:
            return


def latest(
    engine: Engine, *, where: AuditFilter | None = None, limit: int = 100
) -> list[AuditEntry]:
    """The newest ``limit`` matches, newest first: what an operator asking "what just
    happened" wants to read (``query`` pages oldest first, for exports and ``after``)."""
    statement = (
        select(AuditEntry)
        .where(*(where or AuditFilter()).clauses())
        .order_by(col(AuditEntry.seq).desc())
        .limit(limit)
    )
    with Session(engine, expire_on_commit=False) as session:
        return list(session.exec(statement))


def after_seq_of_newest(engine: Engine, *, where: AuditFilter | None = None, count: int) -> int:
    """The ``after_seq`` from which ``iter_query`` yields exactly the newest ``count``
    matches, still in chain order (so an export of them re-verifies as a segment)."""
    statement = (
        select(AuditEntry.seq)
        .where(*(where or AuditFilter()).clauses())
        .order_by(col(AuditEntry.seq).desc())
        .offset(count - 1)
        .limit(1)
    )
    with Session(engine) as session:
        oldest_wanted = session.exec(statement).first()
    return 0 if oldest_wanted is None else oldest_wanted - 1


def get_entry(engine: Engine, *, seq: int) -> AuditEntry | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(AuditEntry, seq)


def to_public(row: AuditEntry | AuditEntryPublic) -> AuditEntryPublic:
    return AuditEntryPublic.model_validate(dict(fields_of(row)))
