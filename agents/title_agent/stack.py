"""The title-mapping stack built from settings: catalog roles, embedder, approved memory,
ranker and its stored adapter, and the mapper on top (embedded ranker or the title agent).

It is built here, in the service layer, because one of its mappers is the title agent: a
``tools`` module choosing it would import the agents layer from below.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chromadb.api import ClientAPI
from langchain_core.language_models import BaseChatModel

from core.catalog import Catalog
from core.settings import Settings
from pii.firewall import PIIFirewall
from tools.mapping.embedded import EmbeddedTitleMapper
from tools.mapping.role_directory import RoleDirectory
from tools.mapping.suggestion import TitleMapper
from tools.mapping.title_mapping import TitleMapping
from tools.titles.adapter_refit import AdapterFit, AdapterSource, refit_adapter
from tools.titles.adapter_store import REFIT_COMMAND, AdapterKind, catalog_digest, load_adapter
from tools.titles.ranker import TitleRanker
from vectorstore.catalog_index import CatalogIndex
from vectorstore.client import chroma_client
from vectorstore.embedder import Embedder, embedder_from_settings
from vectorstore.embeddings import MiniLMEmbeddingFunction, OfflineMiniLM
from vectorstore.memory import ApprovedMemory
from vectorstore.reasoning import reasoning_log

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RankerStack:
    """What the mapper and an adapter refit both start from, so a refit learns on exactly
    the roles, vectors and approvals the service will rank with."""

    directory: RoleDirectory
    embedder: Embedder
    memory: ApprovedMemory
    ranker: TitleRanker


def build_ranker_stack(
    settings: Settings, *, catalog: Catalog, firewall: PIIFirewall | None
) -> RankerStack:
    """The catalog's roles, the configured embedder, the approved memory and a ranker that
    has learnt it (no adapter: whether one may be used is the caller's decision).

    ``firewall`` guards writes to the memory; a read-only caller may pass None."""
    directory = RoleDirectory(catalog)
    embedder = embedder_from_settings(settings)
    client = chroma_client(settings)
    memory = ApprovedMemory(client, embedder, firewall=firewall)
    ranker = _ranker(directory, embedder, client)
    ranker.remember(memory.pairs())
    return RankerStack(directory, embedder, memory, ranker)


def build_title_mapping(
    settings: Settings,
    *,
    catalog: Catalog,
    firewall: PIIFirewall,
    chat_model: BaseChatModel | None = None,
) -> TitleMapping | None:
    """The configured mapping stack, or None when AI title mapping is switched off.

    ``chat_model`` replaces the OpenAI-compatible client built from settings (tests)."""
    if settings.title_mapper == "off":
        return None
    stack = build_ranker_stack(settings, catalog=catalog, firewall=firewall)
    directory, ranker, memory = stack.directory, stack.ranker, stack.memory
    _use_stored_adapter(settings, stack)
    embedded = EmbeddedTitleMapper(directory, ranker)
    mapper: TitleMapper = embedded
    if settings.title_mapper == "llm":
        from agents.title_agent.runner import (
            LLMTitleMapper,  # the OpenAI client only when asked for
        )

        mapper = LLMTitleMapper.from_settings(
            settings,
            directory=directory,
            embedded=embedded,
            memory=memory,
            firewall=firewall,
            model=chat_model,
        )
    log.info("title mapping: %s over %d roles", mapper.name, len(directory.roles))
    return TitleMapping(
        mapper=mapper,
        directory=directory,
        memory=memory,
        reasoning=reasoning_log(settings, firewall=firewall),
        memory_similarity=settings.memory_match_similarity,
        auto_apply_confidence=settings.ai_auto_apply_confidence,
        ranker=ranker,
    )


def refit_title_adapter(
    settings: Settings, *, catalog: Catalog, source: AdapterSource
) -> AdapterFit:
    """Fit and store the adapter the next ``build_title_mapping`` will use. Only reads the
    memory, so no firewall is needed (and Presidio is not loaded)."""
    stack = build_ranker_stack(settings, catalog=catalog, firewall=None)
    return refit_adapter(
        ranker=stack.ranker,
        roles=stack.directory.roles,
        directory=settings.title_adapter_path,
        source=source,
        min_approvals=settings.title_adapter_min_approvals,
    )


def _use_stored_adapter(settings: Settings, stack: RankerStack) -> None:
    """Set the stored adapter on the ranker when it was fitted for this embedder and
    catalog (``load_adapter`` refuses, with a warning, anything else)."""
    stored = load_adapter(
        directory=settings.title_adapter_path,
        model_id=stack.embedder.model_id,
        catalog_digest=catalog_digest(stack.directory.roles),
        dimension=stack.embedder.dimension,
    )
    if stored is None:
        return
    stack.ranker.adapter = stored.adapter
    key, approvals = stored.key, stack.ranker.memory_size
    log.info("title adapter %s: %s, %d approvals", key.digest, key.kind.value, key.approvals)
    if approvals >= max(settings.title_adapter_min_approvals, 2 * key.approvals):
        # a catalog adapter falls behind a memory one from ~600 approvals and behind none at
        # all by ~4k (adapter_refit.choose_kind): that is worth a warning
        log.log(
            logging.WARNING if key.kind is AdapterKind.catalog else logging.INFO,
            "the approved memory holds %d mappings, the %s adapter learnt from %d: `%s` would "
            "learn from them",
            approvals,
            key.kind.value,
            key.approvals,
            REFIT_COMMAND,
        )


def _ranker(directory: RoleDirectory, embedder: Embedder, client: ClientAPI) -> TitleRanker:
    """From the Chroma catalog index when the bundled model is used: a restart re-embeds
    only catalog entries that changed (seconds instead of ~45 s for a 3,000-role catalog)."""
    if isinstance(embedder, OfflineMiniLM):
        index = CatalogIndex(client, MiniLMEmbeddingFunction(embedder))
        return TitleRanker.from_catalog_index(directory.roles, index, embedder)
    return TitleRanker(directory.roles, embedder)
