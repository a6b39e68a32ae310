"""Dependencies the routes declare, as `Annotated` aliases (one place to swap them in tests)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.engine import Engine

from api.problems import ApiError
from core.settings import Settings
from tools.hris.source import WebhookSource


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _sources(request: Request) -> dict[str, WebhookSource]:
    sources: dict[str, WebhookSource] = request.app.state.sources
    return sources


SettingsDep = Annotated[Settings, Depends(_settings)]
EngineDep = Annotated[Engine, Depends(_engine)]
SourcesDep = Annotated[dict[str, WebhookSource], Depends(_sources)]


def _require_admin(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """Until roles land (reviewer/admin/auditor), one admin key guards operator endpoints."""
    expected = settings.admin_api_key
    if expected is None:
        raise ApiError(403, "Admin API disabled", "set TALENTSYNC_ADMIN_API_KEY to enable it")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.encode(), expected.get_secret_value().encode()
    ):
        raise ApiError(401, "Unauthorized", "a valid admin bearer token is required")


AdminDep = Depends(_require_admin)
