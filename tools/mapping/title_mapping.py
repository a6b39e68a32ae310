"""Title mapping as the provisioning graph uses it: tripwire, memory, then a mapper.

Order matters. The injection tripwire runs first so a suspicious title can never be
auto-applied, whatever memory or a model says. Approved memory comes next: a title the
customer already decided is not a question for a model. Only then is a mapper asked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chromadb.api import ClientAPI
from langchain_core.language_models import BaseChatModel

from core.catalog import Catalog
from core.settings import Settings
from tools.mapping.embedded import EmbeddedTitleMapper
from tools.mapping.injection import check_injection
from tools.mapping.role_directory import RoleDirectory
from tools.mapping.suggestion import RoleCandidate, RoleSuggestion, TitleMapper
from tools.pii.firewall import PIIFirewall
from tools.pii.identity import RecordIdentity
from tools.titles.adapter_refit import AdapterFit, AdapterSource, refit_adapter
from tools.titles.adapter_store import REFIT_COMMAND, AdapterKind, catalog_digest, load_adapter
from tools.titles.ranker import TitleRanker
from vectorstore.catalog_index import CatalogIndex
from vectorstore.client import chroma_client
from vectorstore.embedder import Embedder, embedder_from_settings
from vectorstore.embeddings import MiniLMEmbeddingFunction, OfflineMiniLM
from vectorstore.memory import ApprovedMapping, ApprovedMemory
from vectorstore.reasoning import ReasoningLog, reasoning_log

log = logging.getLogger(__name__)

BLOCKING_FLAGS = frozenset(
    {"prompt_injection", "pii_refusal", "invalid_choice", "unparseable_answer", "llm_error"}
)
"""Any of these sends the proposal to a person whatever its confidence."""


@dataclass(frozen=True)
class TitleMapping:
    mapper: TitleMapper
    directory: RoleDirectory
    memory: ApprovedMemory | None
    reasoning: ReasoningLog | None
    memory_similarity: float = 0.97
    auto_apply_confidence: float = 0.8
    ranker: TitleRanker | None = None  # taught approved titles too, so neighbours rank better

    def learn(
        self,
        title: str,
        role_id: str,
        *,
        approved_by: str,
        subject: str,
        identity: RecordIdentity,
    ) -> None:
        """A reviewer's accepted or edited choice: next time this title needs no one."""
        if role_id not in self.directory:
            return
        if self.memory is not None:
            self.memory.add(
                [(title, role_id)], approved_by=approved_by, subject=subject, identity=identity
            )
        if self.ranker is not None:
            self.ranker.remember([(title, role_id)])

    def suggest(
        self, title: str, *, department: str | None, identity: RecordIdentity
    ) -> RoleSuggestion:
        tripwire = check_injection(" \n".join(filter(None, [title, department])))
        if not tripwire.suspicious and self.memory is not None:
            hit = self.memory.lookup(title, min_similarity=self.memory_similarity)
            if hit is not None and hit.role_id in self.directory:
                return self._from_memory(title, hit)
        suggestion = self.mapper.suggest(title, department=department, identity=identity)
        if tripwire.suspicious:
            suggestion = suggestion.model_copy(
                update={
                    "flags": [*suggestion.flags, "prompt_injection"],
                    "provenance": {**suggestion.provenance, "injection": list(tripwire.signals)},
                }
            )
        return suggestion

    def may_apply(self, suggestion: RoleSuggestion) -> bool:
        """Auto-apply only a catalog role, confidently chosen, with nothing suspicious."""
        return (
            suggestion.role_id is not None
            and suggestion.role_id in self.directory
            and suggestion.confidence >= self.auto_apply_confidence
            and not BLOCKING_FLAGS.intersection(suggestion.flags)
        )

    def _from_memory(self, title: str, hit: ApprovedMapping) -> RoleSuggestion:
        label = self.directory.label(hit.role_id)
        return RoleSuggestion(
            title=title,
            role_id=hit.role_id,
            confidence=hit.similarity,
            rationale=f"'{hit.title}' was approved as {label} by {hit.approved_by}.",
            candidates=[RoleCandidate(role_id=hit.role_id, label=label, score=hit.similarity)],
            evidence=[f"approved title: {hit.title}"],
            provenance={
                "mapper": "memory",
                "memory_hit": {
                    "title": hit.title,
                    "similarity": hit.similarity,
                    "approved_by": hit.approved_by,
                    "approved_at": hit.approved_at,
                },
            },
        )


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
        from tools.mapping.llm import LLMTitleMapper  # the OpenAI client only when asked for

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
