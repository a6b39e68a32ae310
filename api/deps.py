"""Dependencies the routes declare, as `Annotated` aliases (one place to swap them in tests).

Who may call what lives in ``api.auth``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from core.catalog import Catalog
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


def _catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


SettingsDep = Annotated[Settings, Depends(_settings)]
CatalogDep = Annotated[Catalog, Depends(_catalog)]
EngineDep = Annotated[Engine, Depends(_engine)]
SourcesDep = Annotated[dict[str, WebhookSource], Depends(_sources)]
