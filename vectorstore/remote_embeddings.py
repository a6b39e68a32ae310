"""Embeddings from any OpenAI-compatible endpoint (OpenAI, Azure, vLLM, llama.cpp, ...).

For customers who already run an embedding model they trust; the offline MiniLM stays the
default because it needs no key, no network and costs nothing per call. Texts sent here are
the same scrubbed views a chat model would see.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np
from langchain_openai import OpenAIEmbeddings
from pydantic import SecretStr

from core.settings import Settings
from vectorstore.embeddings import FloatMatrix


class OpenAICompatibleEmbedder:
    def __init__(self, client: OpenAIEmbeddings, model: str) -> None:
        self._client = client
        self.model_id = f"openai:{model}"

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAICompatibleEmbedder:
        base_url = settings.embeddings_base_url or settings.llm_base_url
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "unused"
        client = OpenAIEmbeddings(
            model=settings.embeddings_model,
            openai_api_base=base_url,
            openai_api_key=SecretStr(key),
            request_timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            # non-OpenAI servers do not speak tiktoken token ids: send plain strings
            check_embedding_ctx_length=False,
        )
        return cls(client, settings.embeddings_model)

    @cached_property
    def dimension(self) -> int:
        return int(self.embed(["dimension probe"]).shape[1])

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings, not a single string")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = np.asarray(self._client.embed_documents(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        normalised: FloatMatrix = vectors / np.clip(norms, 1e-12, None)
        return normalised
