"""Dependencies the routes declare, as `Annotated` aliases (one place to swap them in tests).

Every collaborator comes from the one `Services` the app's lifespan built (``agents.services``);
a route never reads ``app.state`` itself. Who may call what lives in ``api.auth``.

The ones that only read an attribute are ``async def``: FastAPI runs a plain ``def``
dependency in its thread pool, a thread hop each (six per webhook delivery, most of its
cost); ``_reasoning`` may build the reasoning log (Presidio), so it stays off the loop."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from prometheus_client.registry import CollectorRegistry
from sqlalchemy.engine import Engine

from agents.services import Services
from core.catalog import Catalog
from core.settings import Settings
from core.vault import VaultKeys
from tools.hris.intake import WebhookIntake
from vectorstore.reasoning import ReasoningLog


def services_of(request: Request) -> Services:
    """The app's one ``Services`` (for ``api.webhook_lane``, which runs before routing)."""
    services: Services = request.app.state.services
    return services


async def _services(request: Request) -> Services:
    return services_of(request)


ServicesDep = Annotated[Services, Depends(_services)]


async def _settings(services: ServicesDep) -> Settings:
    return services.settings


async def _engine(services: ServicesDep) -> Engine:
    return services.engine


async def _catalog(services: ServicesDep) -> Catalog:
    return services.catalog


async def _vault_keys(services: ServicesDep) -> VaultKeys:
    return services.vault_keys


async def _intake(services: ServicesDep) -> WebhookIntake:
    return services.intake


def _reasoning(services: ServicesDep) -> ReasoningLog:
    """Built on the first audit search (it loads Presidio), then shared."""
    return services.reasoning


def _metrics(services: ServicesDep) -> CollectorRegistry:
    return services.metrics


SettingsDep = Annotated[Settings, Depends(_settings)]
CatalogDep = Annotated[Catalog, Depends(_catalog)]
EngineDep = Annotated[Engine, Depends(_engine)]
VaultKeysDep = Annotated[VaultKeys, Depends(_vault_keys)]
IntakeDep = Annotated[WebhookIntake, Depends(_intake)]
ReasoningDep = Annotated[ReasoningLog, Depends(_reasoning)]
MetricsRegistryDep = Annotated[CollectorRegistry, Depends(_metrics)]
