"""The reasoning behind each AI decision, kept searchable for audit.

Compliance questions come in words ("why was this person put in the leadership track?"), so
rationales are embedded, not only stored. Documents hold only scrubbed text and pass the PII
firewall (document and metadata channels); the subject is a pseudonym so erasure can find
one person's entries without the store ever holding their id.
"""

from __future__ import annotations

import logging
from collections.abc import Collection as Terms
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from tools.pii.allowlist import AllowedTerms
from tools.pii.firewall import Channel, PIIFirewall
from tools.pii.identity import RecordIdentity
from vectorstore.embedder import Embedder, open_collection

log = logging.getLogger(__name__)

COLLECTION = "reasoning"
Metadata = Mapping[str, str | int | float | bool]


@dataclass(frozen=True)
class ReasoningHit:
    entry_id: str
    text: str
    metadata: dict[str, Any]
    similarity: float


class ReasoningLog:
    def __init__(
        self,
        client: ClientAPI,
        embedder: Embedder,
        *,
        firewall: PIIFirewall,
        name: str = COLLECTION,
    ) -> None:
        self._embedder = embedder
        self._firewall = firewall
        self.collection: Collection = open_collection(client, name, embedder)

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
        self.collection.upsert(
            ids=[entry_id],
            documents=[text],
            embeddings=self._embedder.embed([text]),
            metadatas=[dict(metadata)],
        )

    def search(
        self, query: str, *, k: int = 10, where: dict[str, Any] | None = None
    ) -> list[ReasoningHit]:
        if not self.collection.count():
            return []
        found = self.collection.query(
            query_embeddings=self._embedder.embed([query]),
            n_results=min(k, self.collection.count()),
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            ReasoningHit(entry_id, doc, dict(meta or {}), round(1.0 - float(dist), 4))
            for entry_id, doc, meta, dist in zip(
                found["ids"][0],
                (found["documents"] or [[]])[0],
                (found["metadatas"] or [[]])[0],
                (found["distances"] or [[]])[0],
                strict=True,
            )
        ]
