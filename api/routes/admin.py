"""Operator endpoints: inspect the inbox and replay dead letters."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from api.auth import require_admin
from api.deps import EngineDep
from api.problems import ApiError, Problem
from core import inbox
from core.inbox import InboxEventPublic, InboxStatus, NotReplayableError

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])


@router.get("/inbox/counts")
def inbox_counts(engine: EngineDep) -> dict[str, int]:
    return inbox.status_counts(engine)


@router.get("/inbox", response_model=list[InboxEventPublic])
def list_inbox(
    engine: EngineDep,
    status: InboxStatus = InboxStatus.pending,
    limit: int = Query(100, ge=1, le=1000),
) -> list[inbox.InboxEvent]:
    return inbox.list_by_status(engine, status=status, limit=limit)


@router.get("/dead-letters", response_model=list[InboxEventPublic])
def list_dead_letters(
    engine: EngineDep, limit: int = Query(100, ge=1, le=1000)
) -> list[inbox.InboxEvent]:
    return inbox.list_by_status(engine, status=InboxStatus.dead, limit=limit)


@router.post(
    "/dead-letters/{receipt_id}/replay",
    response_model=InboxEventPublic,
    responses={404: {"model": Problem}, 409: {"model": Problem}},
)
def replay_dead_letter(receipt_id: str, engine: EngineDep) -> inbox.InboxEvent:
    try:
        return inbox.replay(engine, receipt_id=receipt_id)
    except KeyError as missing:
        raise ApiError(404, "Not found", f"no inbox event {receipt_id}") from missing
    except NotReplayableError as error:
        raise ApiError(409, "Not a dead letter", str(error)) from error
