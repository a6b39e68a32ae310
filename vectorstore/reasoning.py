"""The reasoning behind each AI decision, kept searchable for audit.

Compliance questions come in words ("why was this person put in the leadership track?"), so
rationales are embedded, not only stored. Documents hold only scrubbed text and pass the PII
firewall (document and metadata channels); the subject is a pseudonym so erasure can find
one person's entries without the store ever holding their id.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Collection as Terms
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from sqlalchemy.engine import Engine

from core import reasoning_backlog
from core.settings import Settings
from pii.allowlist import AllowedTerms
from pii.firewall import Channel, PIIFirewall
from pii.identity import RecordIdentity
from vectorstore.clause_pooling import pooled_embeddings
from vectorstore.client import chroma_client
from vectorstore.embedder import Embedder, embedder_from_settings, open_collection
from vectorstore.embedding_memo import MemoizingEmbedder
from vectorstore.embeddings import FloatMatrix

log = logging.getLogger(__name__)

COLLECTION = "reasoning"
FLUSH_BATCH = 256
Metadata = Mapping[str, str | int | float | bool]


@dataclass(frozen=True)
class ReasoningHit:
    entry_id: str
    text: str
    metadata: dict[str, Any]
    similarity: float


class ReasoningLog:
    """With a ``backlog`` engine, ``record`` queues the entry in the database and ``flush``
    indexes the queue in batches (see ``core.reasoning_backlog``: one Chroma write per event
    was the costliest step of an event); without one, ``record`` writes straight through."""

    def __init__(
        self,
        client: ClientAPI,
        embedder: Embedder,
        *,
        firewall: PIIFirewall,
        name: str = COLLECTION,
        backlog: Engine | None = None,
    ) -> None:
        # decision clauses repeat across a workforce: each distinct one is embedded once
        self._embedder = MemoizingEmbedder(embedder)
        self._firewall = firewall
        self._backlog = backlog
        self.collection: Collection = open_collection(client, name, embedder)
        self._flushing = threading.Lock()
        self._held = threading.local()  # entries `held` keeps back, per thread

    def record(
        self,
        entry_id: str,
        text: str,
        *,
        metadata: Metadata,
        identity: RecordIdentity,
        allowed: AllowedTerms | Terms[str] = (),
    ) -> None:
        """Idempotent on ``entry_id``: a resumed run re-records the same entry, not a twin.

        Raises ``FirewallRefusalError`` rather than storing anything personal; ``allowed``
        are terms of ours (catalog ids, pseudonyms) the firewall must not mistake for data."""
        self._firewall.check(
            text, identity=identity, channel=Channel.vector_document, allowed=allowed
        )
        strings = [str(v) for v in metadata.values() if isinstance(v, str)]
        self._firewall.check(
            strings, identity=identity, channel=Channel.vector_metadata, allowed=allowed
        )
        if self._backlog is not None:
            entry = reasoning_backlog.QueuedReasoning(
                entry_id, self.collection.name, text, metadata
            )
            held: list[reasoning_backlog.QueuedReasoning] | None = getattr(
                self._held, "entries", None
            )
            if held is not None:
                held.append(entry)
            else:
                reasoning_backlog.put_many(self._backlog, [entry])
            return
        self.collection.upsert(
            ids=[entry_id],
            documents=[text],
            embeddings=self.embed_documents([text]),
            metadatas=[dict(metadata)],
        )

    @contextmanager
    def held(self) -> Iterator[None]:
        """Entries this thread records inside the block are queued together when it ends
        (a batch of runs' decisions in one commit instead of one each); without a backlog
        they are written straight through as always."""
        if getattr(self._held, "entries", None) is not None:  # already holding: one level
            yield
            return
        self._held.entries = []
        try:
            yield
        finally:
            entries, self._held.entries = self._held.entries, None
        if self._backlog is not None:
            reasoning_backlog.put_many(self._backlog, entries)

    def embed_documents(self, texts: list[str]) -> FloatMatrix:
        """Stored vectors are clause-pooled (see ``vectorstore.clause_pooling``)."""
        return pooled_embeddings(self._embedder, texts)

    def flush(self, *, batch: int = FLUSH_BATCH) -> int:
        """Index every queued entry, ``batch`` at a time; returns how many. One flush at a
        time per process (a second caller finds the queue being emptied and returns 0)."""
        if self._backlog is None or not self._flushing.acquire(blocking=False):
            return 0
        indexed = 0
        try:
            while rows := reasoning_backlog.oldest(
                self._backlog, collection=self.collection.name, limit=batch
            ):
                documents = [row.document for row in rows]
                self.collection.upsert(
                    ids=[row.entry_id for row in rows],
                    documents=documents,
                    embeddings=self.embed_documents(documents),
                    metadatas=[row.meta for row in rows],
                )
                reasoning_backlog.remove_indexed(self._backlog, rows)
                indexed += len(rows)
                if len(rows) < batch:
                    break
        finally:
            self._flushing.release()
        return indexed

    def search(
        self, query: str, *, k: int = 10, where: dict[str, Any] | None = None
    ) -> list[ReasoningHit]:
        """Hybrid: nearest by meaning, plus documents sharing the question's rarer words.

        Decision texts repeat a lot ("Code of Conduct" is in everyone's), so the one unusual
        decision a compliance question is about can sit below hundreds of look-alikes in
        embedding order; its distinctive words ("leadership programme") find it anyway.
        The score is the cosine similarity plus half the share of content words present.
        Queued entries are indexed first, so a decision is searchable once it is recorded."""
        self.flush()
        count = self.collection.count()
        if not count:
            return []
        vector = self._embedder.embed([query])
        found = self.collection.query(
            query_embeddings=vector,
            n_results=min(max(k * 5, 50), count),
            where=where,
            include=["documents", "metadatas", "embeddings"],
        )
        pool = _rows(found["ids"][0], found, nested=True)
        for word in content_words(query):
            for variant in {word, word.capitalize()}:
                got = self.collection.get(
                    where=where,
                    where_document={"$contains": variant},
                    limit=200,
                    include=["documents", "metadatas", "embeddings"],
                )
                pool.update(_rows(got["ids"], got, nested=False))
        words = content_words(query)
        scored = []
        for entry_id, (doc, meta, embedding) in pool.items():
            cosine = float(np.dot(vector[0], np.asarray(embedding, dtype=np.float32)))
            lowered = doc.lower()
            overlap = sum(w in lowered for w in words) / len(words) if words else 0.0
            scored.append(ReasoningHit(entry_id, doc, meta, round(cosine + 0.5 * overlap, 4)))
        scored.sort(key=lambda hit: -hit.similarity)
        return scored[:k]


_STOP = frozenset(
    [
        "about",
        "above",
        "after",
        "again",
        "also",
        "because",
        "been",
        "being",
        "does",
        "done",
        "each",
        "from",
        "have",
        "into",
        "more",
        "most",
        "only",
        "other",
        "over",
        "same",
        "should",
        "some",
        "such",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "under",
        "very",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "your",
        "person",
        "people",
        "employee",
        "someone",
        "added",
        "removed",
        "given",
    ]
)


def content_words(text: str) -> list[str]:
    """The words of a question that can tell one decision from another."""
    words = re.findall(r"[a-z][a-z-]{3,}", text.lower())
    return list(dict.fromkeys(w for w in words if w not in _STOP))


def _rows(
    ids: list[str], found: Any, *, nested: bool
) -> dict[str, tuple[str, dict[str, Any], Any]]:
    def column(name: str) -> list[Any]:
        values = found[name]
        if values is None:
            return [None] * len(ids)
        return list(values[0] if nested else values)

    return {
        entry_id: (doc, dict(meta or {}), emb)
        for entry_id, doc, meta, emb in zip(
            ids, column("documents"), column("metadatas"), column("embeddings"), strict=True
        )
    }


def reasoning_log(
    settings: Settings, *, firewall: PIIFirewall, backlog: Engine | None = None
) -> ReasoningLog:
    """The process's reasoning collection on the configured Chroma and embedder."""
    return ReasoningLog(
        chroma_client(settings),
        embedder_from_settings(settings),
        firewall=firewall,
        backlog=backlog,
    )
