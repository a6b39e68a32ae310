"""Chroma catalog index: offline embedding, incremental re-index by content hash."""

from __future__ import annotations

from pathlib import Path

import chromadb
from chromadb.api.types import Documents, Embeddings

from vectorstore.catalog_index import CatalogIndex
from vectorstore.embeddings import MiniLMEmbeddingFunction, default_embedder
from vectorstore.roles import CatalogRole


class CountingFunction(MiniLMEmbeddingFunction):
    def __init__(self) -> None:
        super().__init__(default_embedder())
        self.texts: list[str] = []

    def __call__(self, input: Documents) -> Embeddings:
        self.texts.extend(input)
        return super().__call__(input)


ROLES = [
    CatalogRole("r-nurse", "registered nurse", ("staff nurse", "RN")),
    CatalogRole("r-swe", "software engineer", ("software developer", "programmer")),
    CatalogRole("r-am", "account manager", ("key account manager",)),
]


def test_sync_is_incremental(tmp_path: Path) -> None:
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"))
    function = CountingFunction()
    index = CatalogIndex(client, function)

    first = index.sync(ROLES)
    assert (first.added, first.updated, first.deleted) == (8, 0, 0)
    assert len(function.texts) == 8
    assert index.collection.count() == 8
    version = index.version

    function.texts.clear()
    again = index.sync(ROLES)
    assert function.texts == []
    assert again.unchanged == 8
    assert index.version == version

    changed = [
        CatalogRole("r-nurse", "registered nurse", ("staff nurse", "RN", "charge nurse")),
        CatalogRole("r-swe", "software engineer", ("software developer",)),
    ]
    report = index.sync(changed)
    assert function.texts == ["charge nurse"]
    assert (report.added, report.deleted) == (1, 3)  # programmer + 2 account manager labels
    assert index.collection.count() == 6
    assert index.version != version


def test_query_and_vectors_are_offline() -> None:
    client = chromadb.EphemeralClient()
    index = CatalogIndex(client, name="catalog_test_query")
    index.sync(ROLES)
    hits = index.query("senior programmer", k=3)
    assert hits[0][0] == "r-swe"
    entries, matrix = index.vectors()
    assert matrix.shape == (len(entries), 384)
    assert {e.role_id for e in entries} == {"r-nurse", "r-swe", "r-am"}
    assert index.collection.metadata["model_sha256"]
    client.delete_collection("catalog_test_query")


def test_collection_uses_cosine_space() -> None:
    client = chromadb.EphemeralClient()
    index = CatalogIndex(client, name="catalog_test_space")
    config = index.collection.configuration
    assert config["hnsw"]["space"] == "cosine"  # type: ignore[index]
    client.delete_collection("catalog_test_space")


def test_ranker_starts_from_persisted_vectors() -> None:
    from tools.titles.ranker import TitleRanker

    client = chromadb.EphemeralClient()
    function = CountingFunction()
    index = CatalogIndex(client, function, name="catalog_test_ranker")
    index.sync(ROLES)
    function.texts.clear()
    ranker = TitleRanker.from_catalog_index(ROLES, index, default_embedder())
    assert function.texts == []  # nothing re-embedded
    assert ranker.rank("Sr. Software Eng").candidates[0].role_id == "r-swe"
    client.delete_collection("catalog_test_ranker")
