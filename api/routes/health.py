"""Probes for load balancers, supervisors and `make demo`, and the Prometheus endpoint.

* ``/livez``: the process serves requests; it checks nothing else, so a database outage
  never gets a healthy API restarted.
* ``/readyz``: the database answers with the expected schema and Chroma answers; a 503
  problem naming each failed check otherwise (``errors[]``: ``field`` is the check).
* ``/healthz``: ``ok``, as before; the inbox counts only for an operator (admin or
  auditor bearer credential), never for an anonymous caller. A missing or wrong
  credential is not refused here, it just gets no counts.
* ``/metrics``: Prometheus text exposition; public unless ``TALENTSYNC_METRICS_PUBLIC`` is
  false (aggregates only: counts and durations, no ids).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder

from api.auth import Principal, Role, authenticate, require_auditor
from api.deps import EngineDep, MetricsRegistryDep, SettingsDep
from api.problems import ApiError, Problem
from api.readiness import readiness_problems
from core import inbox
from tools.hris.errors import FieldError

router = APIRouter(tags=["health"])

OPERATORS = frozenset({Role.admin, Role.auditor})


@router.get("/livez")
def livez() -> dict[str, str]:
    """The process is up and serving; no dependency is checked."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"model": Problem}})
def readyz(settings: SettingsDep, engine: EngineDep) -> dict[str, Any]:
    """Database reachable, schema current, Chroma reachable; 503 naming what failed."""
    problems = readiness_problems(settings, engine)
    if problems:
        raise ApiError(
            503,
            "Not ready",
            "; ".join(f"{check}: {reason}" for check, reason in problems.items()),
            errors=[FieldError(field=check, reason=reason) for check, reason in problems.items()],
        )
    return {"status": "ok", "checks": {"database": "ok", "schema": "ok", "chroma": "ok"}}


def _operator(request: Request, settings: SettingsDep, engine: EngineDep) -> Principal | None:
    """The caller if it presented a valid admin or auditor credential, else None: the
    endpoint stays open to probes, only what it shows depends on who asks."""
    if not request.headers.get("authorization"):
        return None
    try:
        principal = authenticate(request, settings, engine, None)
    except ApiError:
        return None
    return principal if principal.has_any(OPERATORS) else None


@router.get("/healthz")
def healthz(request: Request, settings: SettingsDep, engine: EngineDep) -> dict[str, object]:
    """``ok``; with an admin or auditor credential also the inbox counts."""
    if _operator(request, settings, engine) is None:
        return {"status": "ok"}
    counts = inbox.status_counts(engine)
    open_events = sum(counts[status.value] for status in inbox.OPEN_STATUSES)
    return {"status": "ok", "open_events": open_events, "inbox": counts}


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_PLAIN_0_0_4: {}}, "description": "Prometheus text."}},
)
def metrics(
    request: Request, settings: SettingsDep, engine: EngineDep, registry: MetricsRegistryDep
) -> Response:
    """Prometheus text exposition of this process's metrics and the queue (see README
    *Operations*)."""
    if not settings.metrics_public:
        require_auditor(authenticate(request, settings, engine, None))
    # the format the scraper asks for (its Accept header): OpenMetrics, or text 0.0.4
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(registry), headers={"Content-Type": content_type})
