"""Every webhook source the API serves, built from the settings.

Kept apart from ``tools.hris.source`` (the contract and the checks the adapters share) so
that the adapters import that module and this one imports the adapters, and no import runs
in a circle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tools.hris.bamboohr import BambooHRSource
from tools.hris.merge import MergeSource
from tools.hris.source import WebhookSource
from tools.hris.standard import StandardWebhookSource

if TYPE_CHECKING:
    from core.settings import Settings

SOURCE_NAMES = ("standard", "bamboohr", "merge")
"""The ``{source}`` path segments ``build_sources`` answers to, for the API document."""


def build_sources(settings: Settings) -> dict[str, WebhookSource]:
    """All configured sources keyed by the ``{source}`` path segment of the webhook route."""
    sources: list[WebhookSource] = [
        StandardWebhookSource(settings.webhook_secrets_standard, settings.webhook_tolerance_s),
        BambooHRSource(settings.webhook_secrets_bamboohr, settings.webhook_tolerance_s),
        MergeSource(settings.webhook_secrets_merge),
    ]
    return {source.name: source for source in sources}
