"""Dependencies the routes declare, as `Annotated` aliases (one place to swap them in tests).

Every collaborator comes from the one `Services` the app's lifespan built (``agents.services``);
a route never reads ``app.state`` itself. Who may call what lives in ``api.auth``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from agents.services import Services
from core.catalog import Catalog
from core.inbox import InboxWriter
from core.settings import Settings
from core.vault import VaultKeys
from tools.hris.source import WebhookSource
from vectorstore.reasoning import ReasoningLog


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]


def _settings(services: ServicesDep) -> Settings:
    return services.settings


def _engine(services: ServicesDep) -> Engine:
    return services.engine


def _sources(services: ServicesDep) -> Mapping[str, WebhookSource]:
    return services.sources


def _catalog(services: ServicesDep) -> Catalog:
    return services.catalog


def _vault_keys(services: ServicesDep) -> VaultKeys:
    return services.vault_keys


def _inbox_writer(services: ServicesDep) -> InboxWriter:
    return services.inbox_writer


def _reasoning(services: ServicesDep) -> ReasoningLog:
    """Built on the first audit search (it loads Presidio), then shared."""
    return services.reasoning


SettingsDep = Annotated[Settings, Depends(_settings)]
CatalogDep = Annotated[Catalog, Depends(_catalog)]
EngineDep = Annotated[Engine, Depends(_engine)]
SourcesDep = Annotated[Mapping[str, WebhookSource], Depends(_sources)]
VaultKeysDep = Annotated[VaultKeys, Depends(_vault_keys)]
InboxWriterDep = Annotated[InboxWriter, Depends(_inbox_writer)]
ReasoningDep = Annotated[ReasoningLog, Depends(_reasoning)]
