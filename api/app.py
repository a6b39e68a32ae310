"""The FastAPI application: webhook intake, the review queue (API and page), audit-trail
queries, admin and health, over one `Services` built in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from agents.runtime.workers import running_workers
from agents.services import open_services
from api.openapi import install_openapi
from api.problems import install_problem_handlers
from api.redoc_page import install_redoc
from api.request_text import refuse_nul_characters
from api.routes import admin, employees, health, reviews, webhooks
from api.routes import audit as audit_routes
from api.ui import install_ui
from api.webhook_lane import WebhookLane
from core.db import make_engine
from core.migrations import open_schema
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, workers: int = 0) -> FastAPI:
    """``workers > 0`` runs the inbox workers inside this process (what `serve` does)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        open_schema(engine)  # refuses a schema not at head (serve checks before, too)
        async with AsyncExitStack() as stack:
            # the one place the app gets its collaborators; routes reach them via api.deps
            app.state.services = stack.enter_context(open_services(settings, engine))
            if workers:
                stack.enter_context(running_workers(app.state.services, count=workers))
            yield
        engine.dispose()

    # /docs and /redoc with their Swagger UI and ReDoc assets served from the package, not
    # a CDN: the docs must work where the service runs, often without internet (and Swagger
    # UI must not send the OpenAPI document to its public validator)
    app = FastAPIOffline(
        redoc_url=None,  # install_redoc below: the packaged bundle still calls a CDN
        swagger_ui_parameters={"validatorUrl": None},
        title="TalentSync",
        version="0.1.0",
        summary="Keeps the LMS in step with the HRIS.",
        lifespan=lifespan,
        dependencies=[Depends(refuse_nul_characters)],
    )
    install_problem_handlers(app)
    app.add_middleware(WebhookLane)  # deliveries skip FastAPI's routing: api.webhook_lane
    app.include_router(webhooks.router)
    app.include_router(admin.router)
    app.include_router(employees.router)
    app.include_router(reviews.router)
    app.include_router(audit_routes.router)
    app.include_router(health.router)
    install_ui(app)
    install_redoc(app)
    install_openapi(app)
    return app
