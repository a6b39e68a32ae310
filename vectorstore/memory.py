"""Approved-mapping memory: what reviewers (or an imported history) said a title means.

Two uses. An identical or near-identical title that was already approved is decided again
without a model call, because the customer has answered that question. And every approved
pair feeds the ranker as extra labels of its role, so similar titles rank better.

Entries are keyed by the normalised title, so re-approving a title replaces its entry (the
latest decision wins) instead of piling up contradictory votes. Titles stored here are the
scrubbed model view, and each write passes the PII firewall as a vector-store channel.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from core.title_text import normalise_title
from pii.firewall import Channel, PIIFirewall
from pii.identity import RecordIdentity
from vectorstore.embedder import Embedder, open_collection

log = logging.getLogger(__name__)

COLLECTION = "memory"


@dataclass(frozen=True)
class ApprovedMapping:
    title: str
    role_id: str
    approved_by: str
    approved_at: str
    similarity: float = 1.0


def memory_key(title: str) -> str:
    return hashlib.sha256(normalise_title(title).text.encode()).hexdigest()[:32]


class ApprovedMemory:
    def __init__(
        self,
        client: ClientAPI,
        embedder: Embedder,
        *,
        firewall: PIIFirewall | None = None,
        name: str = COLLECTION,
    ) -> None:
        self._embedder = embedder
        self._firewall = firewall
        self.collection: Collection = open_collection(client, name, embedder)

    def __len__(self) -> int:
        return self.collection.count()

    def add(
        self,
        approved: Iterable[tuple[str, str]],
        *,
        approved_by: str,
        subject: str = "",
        identity: RecordIdentity | None = None,
    ) -> int:
        """Store (title, role_id) pairs; ``subject`` (a pseudonym) lets erasure find them."""
        pairs = list(dict((memory_key(t), (t.strip(), r)) for t, r in approved).items())
        if not pairs:
            return 0
        if self._firewall is not None:
            self._firewall.check(
                [title for _, (title, _) in pairs],
                identity=identity or RecordIdentity(),
                channel=Channel.vector_document,
            )
        now = datetime.now(UTC).isoformat()
        texts = [normalise_title(title).text for _, (title, _) in pairs]
        self.collection.upsert(
            ids=[key for key, _ in pairs],
            documents=[title for _, (title, _) in pairs],
            embeddings=self._embedder.embed(texts),
            metadatas=[
                {
                    "role_id": role_id,
                    "approved_by": approved_by,
                    "approved_at": now,
                    "subject": subject,
                }
                for _, (_, role_id) in pairs
            ],
        )
        return len(pairs)

    def lookup(self, title: str, *, min_similarity: float) -> ApprovedMapping | None:
        """The approved decision for this title or one that means the same, if any."""
        exact = self.collection.get(ids=[memory_key(title)], include=["documents", "metadatas"])
        if exact["ids"]:
            return _mapping(exact["documents"], exact["metadatas"], 0, similarity=1.0)
        nearest = self.nearest(title, k=1)
        if nearest and nearest[0].similarity >= min_similarity:
            return nearest[0]
        return None

    def nearest(self, title: str, *, k: int = 5) -> list[ApprovedMapping]:
        """The most similar approved titles, most similar first, whatever their similarity."""
        count = self.collection.count()
        if not count:
            return []
        found = self.collection.query(
            query_embeddings=self._embedder.embed([normalise_title(title).text]),
            n_results=min(k, count),
            include=["documents", "metadatas", "distances"],
        )
        docs = (found["documents"] or [[]])[0]
        metas = (found["metadatas"] or [[]])[0]
        distances = (found["distances"] or [[]])[0]
        return [
            _mapping(docs, metas, row, similarity=round(1.0 - float(d), 4))
            for row, d in enumerate(distances)
        ]

    def pairs(self) -> list[tuple[str, str]]:
        """Every (title, role_id), for the ranker's memory at start-up."""
        got = self.collection.get(include=["documents", "metadatas"])
        return [
            (doc, str(meta["role_id"]))
            for doc, meta in zip(got["documents"] or [], got["metadatas"] or [], strict=True)
        ]


def _mapping(docs: object, metas: object, row: int, *, similarity: float) -> ApprovedMapping:
    meta = metas[row]  # type: ignore[index]
    return ApprovedMapping(
        title=str(docs[row]),  # type: ignore[index]
        role_id=str(meta["role_id"]),
        approved_by=str(meta["approved_by"]),
        approved_at=str(meta["approved_at"]),
        similarity=similarity,
    )
