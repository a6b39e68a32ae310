"""What every index, ranker and collection needs from an embedding model, and how the
configured one is chosen.

Collections are named after the embedder when it is not the bundled default, so switching
to a remote model starts fresh collections instead of mixing two vector spaces in one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from core.settings import Settings
from vectorstore.embeddings import (
    MODEL_ID,
    FloatMatrix,
    MiniLMEmbeddingFunction,
    OfflineMiniLM,
    default_embedder,
)


class Embedder(Protocol):
    model_id: str

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> FloatMatrix: ...


def embedder_from_settings(settings: Settings) -> Embedder:
    if settings.embeddings == "offline":
        return default_embedder()
    from vectorstore.remote_embeddings import OpenAICompatibleEmbedder  # network client

    return OpenAICompatibleEmbedder.from_settings(settings)


def collection_name(base: str, embedder: Embedder) -> str:
    if embedder.model_id == MODEL_ID:
        return base
    return f"{base}-{re.sub(r'[^a-zA-Z0-9]+', '-', embedder.model_id).strip('-')[:40]}"


def open_collection(client: ClientAPI, base: str, embedder: Embedder) -> Collection:
    """Vectors are always computed by us and passed in; the bundled embedding function is
    attached for the default model only so Chroma never falls back to a downloading one."""
    function = MiniLMEmbeddingFunction(embedder) if isinstance(embedder, OfflineMiniLM) else None
    return client.get_or_create_collection(
        collection_name(base, embedder),
        embedding_function=function,  # type: ignore[arg-type]
        configuration={"hnsw": {"space": "cosine"}},
    )
