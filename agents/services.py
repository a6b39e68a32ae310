"""The composition root: every collaborator a run, a worker or a route needs, built once from
`Settings` and handed around as one frozen `Services`.

One place decides what the service is made of, so a test or a new graph swaps a part here
(``chat_model``) instead of re-listing a dozen constructor arguments. What webhook intake
needs is built at once; the rest (Presidio, the title and skill indexes, the LMS client,
the checkpointer's connection) on first use, so an API process that only takes webhooks
never loads a model, and `warm` builds it all before a worker takes its first event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field, replace
from threading import RLock
from typing import TypeVar, cast

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from prometheus_client.registry import CollectorRegistry
from sqlalchemy.engine import Engine

from agents.checkpointer import open_checkpointer
from agents.policy.rules import ReviewPolicy, load_policy
from agents.title_agent.stack import build_title_mapping
from core.catalog import Catalog, load_catalog
from core.db import flushing_every_commit
from core.inbox import InboxWriter
from core.queue_metrics import registry_with_queue
from core.settings import Settings
from core.vault import VaultKeys, load_keys
from pii.guard import PIIGuard, get_guard, guard_for_catalog
from tools.hris.intake import WebhookIntake
from tools.hris.records import EmployeeFetcher, records_from_settings
from tools.hris.source import WebhookSource
from tools.hris.sources import build_sources
from tools.lms.catalog_groups import CatalogGroups
from tools.lms.scim import ScimLMS
from tools.mapping.base import Mapper
from tools.mapping.rules import RulesMapper
from tools.mapping.skill_mapping import SkillMapping, build_skill_mapping
from tools.mapping.title_mapping import TitleMapping
from tools.notify.review_webhook import ReviewNotifier
from vectorstore.reasoning import ReasoningLog, reasoning_log

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Services:
    settings: Settings
    engine: Engine
    catalog: Catalog
    vault_keys: VaultKeys  # never in graph state: state is checkpointed
    sources: Mapping[str, WebhookSource]  # by the webhook route's ``{source}`` segment
    chat_model: BaseChatModel | None = None  # replaces the configured LLM endpoint (tests, evals)
    _resources: ExitStack = field(default_factory=ExitStack, repr=False)
    _built: dict[str, object] = field(default_factory=dict, repr=False)
    _lock: RLock = field(default_factory=RLock, repr=False)
    """One lock for every first build: worker and request threads may ask for a part at
    once, each part is built exactly once, and one reentrant lock cannot deadlock when a
    part needs another (the reasoning log needs the guard)."""

    def _part(self, name: str, build: Callable[[], T]) -> T:
        # nodes read parts many times per event from every worker thread: a part already
        # built is a plain dict read (atomic), and only a first build takes the lock
        if name in self._built:
            return cast(T, self._built[name])
        with self._lock:
            if name not in self._built:
                self._built[name] = build()
            return cast(T, self._built[name])

    @property
    def intake(self) -> WebhookIntake:
        """Webhook intake with the inbox's group-commit writer (``core.inbox.group_commit``),
        one per process, built by the first delivery; `close` commits what the writer holds,
        then stops it."""

        def build() -> WebhookIntake:
            engine = flushing_every_commit(self.engine)  # a 202 survives a power cut
            if engine is not self.engine:
                self._resources.callback(engine.dispose)
            writer = self._resources.enter_context(closing(InboxWriter(engine)))
            return WebhookIntake(
                sources=self.sources,
                writer=writer,
                max_body_bytes=self.settings.webhook_max_body_bytes,
                pseudonym_key=self.vault_keys.pseudonym,
            )

        return self._part("intake", build)

    @property
    def lms(self) -> ScimLMS:
        return self._part("lms", lambda: ScimLMS.from_settings(self.settings))

    @property
    def lms_groups(self) -> CatalogGroups:
        """The catalog's groups as the LMS knows them (resolved once, then cached)."""
        return self._part("lms_groups", lambda: CatalogGroups(self.lms, self.catalog))

    @property
    def hris(self) -> EmployeeFetcher:
        return self._part("hris", lambda: records_from_settings(self.settings))

    @property
    def mapper(self) -> Mapper:
        """The catalog's own assignment rules."""
        return self._part("mapper", lambda: RulesMapper(self.catalog))

    @property
    def policy(self) -> ReviewPolicy:
        settings = self.settings
        return self._part(
            "policy", lambda: load_policy(settings.review_policy_path, catalog=self.catalog)
        )

    @property
    def notifier(self) -> ReviewNotifier:
        settings = self.settings
        return self._part(
            "notifier",
            lambda: ReviewNotifier(settings.review_notify_url, base_url=settings.public_base_url),
        )

    @property
    def checkpointer(self) -> BaseCheckpointSaver[str]:
        """Open until `close`: a PostgreSQL pool or a SQLite connection beside the inbox."""
        return self._part(
            "checkpointer", lambda: self._resources.enter_context(open_checkpointer(self.settings))
        )

    @property
    def pii(self) -> PIIGuard:
        return self._part("pii", lambda: guard_for_catalog(self.catalog))

    @property
    def reasoning(self) -> ReasoningLog:
        """Why each decision was made, searchable for audit."""
        return self._part(
            # the firewall every guard shares (get_guard's): an API process that only
            # searches the audit trail need not build the catalog's HR-field readers
            "reasoning",
            lambda: reasoning_log(
                self.settings, firewall=get_guard().firewall, backlog=self.engine
            ),
        )

    @property
    def titles(self) -> TitleMapping | None:
        """None: AI title mapping is off."""
        return self._part(
            "titles",
            lambda: build_title_mapping(
                self.settings,
                catalog=self.catalog,
                firewall=self.pii.firewall,
                chat_model=self.chat_model,
            ),
        )

    @property
    def skills(self) -> SkillMapping | None:
        """None: skill mapping is off."""
        return self._part("skills", lambda: build_skill_mapping(self.settings))

    @property
    def metrics(self) -> CollectorRegistry:
        """What this process's /metrics serves: its own counters and histograms plus the
        inbox and review queue, read from the database when scraped."""
        return self._part("metrics", lambda: registry_with_queue(self.engine))

    def using(self, **parts: object) -> Services:
        """A copy with these parts given instead of built (tests and evals that assemble a
        run by hand); an unknown name is an error, not a silently unused part."""
        unknown = set(parts) - set(PARTS)
        if unknown:
            raise TypeError(f"Services has no part {', '.join(sorted(unknown))}")
        return replace(self, _built={**self._built, **parts}, _lock=RLock())

    def warm(self) -> Services:
        """Build every part now, in the order the workers always built them, so a
        misconfiguration fails at start-up rather than on the first event."""
        for name in PARTS:
            getattr(self, name)
        log.debug("services ready: %s", ", ".join(PARTS))
        return self

    def close(self) -> None:
        self._resources.close()


PARTS = (
    "lms", "lms_groups", "checkpointer", "mapper", "hris", "pii", "policy", "reasoning",
    "notifier", "titles", "skills", "metrics",
)  # fmt: skip
"""The parts built on first use, in the order the workers have always built them."""


def build_services(
    settings: Settings, engine: Engine, *, chat_model: BaseChatModel | None = None
) -> Services:
    """What webhook intake needs, at once (catalog, vault keys, sources); the rest on first
    use. `close` releases what was opened."""
    return Services(
        settings=settings,
        engine=engine,
        catalog=load_catalog(settings.catalog_path),
        vault_keys=load_keys(settings),
        sources=build_sources(settings),
        chat_model=chat_model,
    )


@contextmanager
def open_services(
    settings: Settings, engine: Engine, *, chat_model: BaseChatModel | None = None
) -> Iterator[Services]:
    services = build_services(settings, engine, chat_model=chat_model)
    try:
        yield services
    finally:
        services.close()
