"""The skill taxonomy as a persisted Chroma collection (``skills``), re-indexed incrementally.

Why reuse :class:`CatalogIndex`: a skill concept is, to the index, exactly what a role is
(an id and the labels it is known by), and the content-hash sync, versioning and model pin
are the parts worth having once. This wrapper only fixes the collection name and maps
concepts to entries in the normaliser's order, so ~25k ESCO labels (~30 s on two cores)
are embedded once and a taxonomy update re-embeds only the labels that changed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from chromadb.api import ClientAPI

from vectorstore.catalog_index import CatalogIndex, SyncReport, catalog_entries
from vectorstore.embeddings import FloatMatrix, MiniLMEmbeddingFunction
from vectorstore.progress import Progress
from vectorstore.roles import CatalogRole

logger = logging.getLogger(__name__)

COLLECTION = "skills"


class SkillConcept(Protocol):
    """What the index needs of a taxonomy concept (``tools.skills.taxonomy.SkillConcept``):
    its role shape. A protocol, so this storage layer does not import the tools above it."""

    def as_role(self) -> CatalogRole: ...


class StaleIndexError(RuntimeError):
    """The collection lacks entries for the taxonomy asked about; sync it first."""


class SkillsIndex:
    def __init__(
        self,
        client: ClientAPI,
        embedding_function: MiniLMEmbeddingFunction | None = None,
        name: str = COLLECTION,
    ) -> None:
        self._index = CatalogIndex(client, embedding_function, name=name)

    @property
    def collection_name(self) -> str:
        return self._index.collection.name

    @property
    def version(self) -> str | None:
        """Order-independent digest of the indexed taxonomy and model; None before a sync."""
        return self._index.version

    def count(self) -> int:
        return self._index.collection.count()

    def sync(
        self, concepts: Sequence[SkillConcept], *, progress: Progress | None = None
    ) -> SyncReport:
        report = self._index.sync([c.as_role() for c in concepts], progress=progress)
        logger.info("skills index %s: %s", self.collection_name, report)
        return report

    def entry_vectors(self, concepts: Sequence[SkillConcept]) -> FloatMatrix:
        """Stored vectors in :meth:`SkillConcept.labels` order, concept by concept, which is
        the row order :class:`tools.skills.normaliser.SkillNormaliser` expects."""
        stored, matrix = self._index.vectors()
        row_of = {entry.entry_id: row for row, entry in enumerate(stored)}
        wanted = catalog_entries([c.as_role() for c in concepts])
        missing = [e.text for e in wanted if e.entry_id not in row_of]
        if missing:
            raise StaleIndexError(
                f"{len(missing)} taxonomy labels are not indexed (e.g. {missing[0]!r}); "
                "call sync() first"
            )
        rows = [row_of[e.entry_id] for e in wanted]
        result: FloatMatrix = matrix[rows]
        return result

    def query(self, text: str, k: int = 10) -> list[tuple[str, str, float]]:
        """(concept_id, label, cosine similarity) of the nearest labels, for ad-hoc lookups;
        the normaliser ranks in-process because it needs every concept's score."""
        return self._index.query(text, k=k)
