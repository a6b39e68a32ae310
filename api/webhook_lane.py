"""The webhook lane: ``POST /webhooks/{source}`` answered ahead of FastAPI's routing.

Why: a delivery is the one request that arrives a thousand times a second, and FastAPI's
per-request machinery (route matching through every router, dependency solving, the
exception middleware) cost about as much CPU as verifying the delivery itself. The lane
answers with the route's own body (``api.routes.webhooks.answer_delivery``) and the
problem handler's own refusal (``api.problems.intake_problem``), so every status and
document is the route's; the route stays for the OpenAPI document and for what the lane
hands on.

What the lane takes is exactly what needs no more than that: a POST to
``/webhooks/<one segment>`` with no query string, no root path, and no NUL in the path.
Anything else (a query string, ``%00``, another method, a trailing slash) goes the normal
way, where the app-wide ``refuse_nul_characters`` and routing answer it. That rule stands in
for the app's dependencies; ``tests/unit/test_webhook_lane.py`` fails if the app gains a
dependency the lane would skip. It runs inside Starlette's error middleware, so an
unexpected error is still a 500 there.
"""

from __future__ import annotations

import re
from typing import Final

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import services_of
from api.problems import intake_problem
from api.routes.webhooks import answer_delivery
from tools.hris.errors import IntakeError

_WEBHOOK_PATH: Final = re.compile(r"/webhooks/([^/\x00]+)")


class WebhookLane:
    """ASGI middleware (``app.add_middleware(WebhookLane)``); see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = (
            _WEBHOOK_PATH.fullmatch(scope["path"])
            if scope["type"] == "http"
            and scope["method"] == "POST"
            and not scope.get("query_string")
            and not scope.get("root_path")
            else None
        )
        if match is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await answer_delivery(services_of(request).intake, match[1], request)
        except IntakeError as error:
            response = intake_problem(error)
        await response(scope, receive, send)
