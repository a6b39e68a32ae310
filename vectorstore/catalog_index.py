"""The role catalog as a persisted Chroma collection, re-indexed incrementally.

Why incremental: embedding ~33k ESCO labels costs ~45 s on two cores, and LMS catalogs
change a few roles at a time. Each entry (one role label) carries a content hash in its
metadata; a sync embeds only entries whose hash changed and deletes entries that vanished.
Entry ids are derived from (role id, label) so a preferred label and its alt labels are
separate documents that all point back to the same role through ``role_id`` metadata.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from vectorstore.embeddings import MODEL_SHA256, FloatMatrix, MiniLMEmbeddingFunction
from vectorstore.progress import Progress, logging_progress
from vectorstore.roles import CatalogRole

logger = logging.getLogger(__name__)

COLLECTION = "catalog"


@dataclass(frozen=True)
class CatalogEntry:
    entry_id: str
    role_id: str
    kind: str
    text: str
    content_hash: str


@dataclass(frozen=True)
class SyncReport:
    added: int
    updated: int
    deleted: int
    unchanged: int
    version: str


def catalog_entries(roles: Sequence[CatalogRole]) -> list[CatalogEntry]:
    entries = []
    for role in roles:
        for kind, text in role.labels():
            key = f"{role.role_id}\x1f{text.strip().lower()}"
            entry_id = hashlib.sha256(key.encode()).hexdigest()[:32]
            content = f"{role.role_id}\x1f{kind}\x1f{text}\x1f{MODEL_SHA256}"
            entries.append(
                CatalogEntry(
                    entry_id, role.role_id, kind, text, hashlib.sha256(content.encode()).hexdigest()
                )
            )
    return entries


def catalog_version(entries: Sequence[CatalogEntry]) -> str:
    """Order-independent digest of the whole catalog: equal versions mean nothing to sync."""
    digest = hashlib.sha256()
    for entry in sorted(entries, key=lambda e: e.entry_id):
        digest.update(f"{entry.entry_id}:{entry.content_hash}\n".encode())
    return digest.hexdigest()[:16]


EMBED_CHUNK = 512
"""Entries embedded and stored per step: small enough for a progress bar to move every
second or two, large enough that the ONNX model batches well."""


class CatalogIndex:
    def __init__(
        self,
        client: ClientAPI,
        embedding_function: MiniLMEmbeddingFunction | None = None,
        name: str = COLLECTION,
    ) -> None:
        self.embedding_function = embedding_function or MiniLMEmbeddingFunction()
        self.collection: Collection = client.get_or_create_collection(
            name,
            embedding_function=self.embedding_function,  # type: ignore[arg-type]
            configuration={"hnsw": {"space": "cosine"}},
        )
        self._client = client

    @property
    def version(self) -> str | None:
        metadata = self.collection.metadata or {}
        value = metadata.get("catalog_version")
        return str(value) if value is not None else None

    def _existing_hashes(self) -> dict[str, str]:
        got = self.collection.get(include=["metadatas"])
        metadatas = got["metadatas"] or []
        return {
            entry_id: str((meta or {}).get("content_hash", ""))
            for entry_id, meta in zip(got["ids"], metadatas, strict=True)
        }

    def sync(self, roles: Sequence[CatalogRole], *, progress: Progress | None = None) -> SyncReport:
        """``progress`` gets (embedded, to embed) as entries are embedded; without it the
        sync logs at intervals (a first sync of a large taxonomy takes a minute or more)."""
        entries = catalog_entries(roles)
        version = catalog_version(entries)
        existing = self._existing_hashes()
        wanted = {e.entry_id: e for e in entries}
        changed = [e for e in entries if existing.get(e.entry_id) != e.content_hash]
        removed = [entry_id for entry_id in existing if entry_id not in wanted]
        batch = self._client.get_max_batch_size()
        for start in range(0, len(removed), batch):
            self.collection.delete(ids=removed[start : start + batch])
        report_progress = progress or logging_progress(
            logger, f"embedding {self.collection.name} labels"
        )
        if changed:
            report_progress(0, len(changed))
        step = min(batch, EMBED_CHUNK)
        for start in range(0, len(changed), step):
            chunk = changed[start : start + step]
            embeddings = self.embedding_function([e.text for e in chunk])
            self.collection.upsert(
                ids=[e.entry_id for e in chunk],
                documents=[e.text for e in chunk],
                embeddings=embeddings,
                metadatas=[
                    {"role_id": e.role_id, "kind": e.kind, "content_hash": e.content_hash}
                    for e in chunk
                ],
            )
            report_progress(start + len(chunk), len(changed))
        if self.version != version:
            metadata: dict[str, Any] = {"catalog_version": version, "model_sha256": MODEL_SHA256}
            self.collection.modify(metadata=metadata)
        added = sum(1 for e in changed if e.entry_id not in existing)
        report = SyncReport(
            added, len(changed) - added, len(removed), len(entries) - len(changed), version
        )
        logger.info("catalog sync %s", report)
        return report

    def vectors(self) -> tuple[list[CatalogEntry], FloatMatrix]:
        """All entries with their stored vectors, so the ranker can start without
        re-embedding the catalog."""
        got = self.collection.get(include=["embeddings", "documents", "metadatas"])
        entries = []
        for entry_id, doc, meta in zip(
            got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True
        ):
            entries.append(
                CatalogEntry(
                    entry_id,
                    str(meta["role_id"]),
                    str(meta["kind"]),
                    doc,
                    str(meta["content_hash"]),
                )
            )
        embeddings = got["embeddings"]
        matrix = np.asarray(embeddings if embeddings is not None else [], dtype=np.float32)
        return entries, matrix.reshape(len(entries), -1)

    def query(self, text: str, k: int = 10) -> list[tuple[str, str, float]]:
        """(role_id, label, cosine similarity) of the nearest labels."""
        result = self.collection.query(
            query_texts=[text], n_results=k, include=["documents", "metadatas", "distances"]
        )
        docs = (result["documents"] or [[]])[0]
        metas = (result["metadatas"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        return [
            (str(m["role_id"]), d, 1.0 - float(dist))
            for d, m, dist in zip(docs, metas, distances, strict=True)
        ]
