"""Liveness and readiness for load balancers and `make demo`."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import EngineDep
from core import inbox

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(engine: EngineDep) -> dict[str, object]:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"status": "ok", "open_events": inbox.open_count(engine)}
