"""The embedding memo: the same text is embedded once, and the vectors are the model's own."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from vectorstore.embedding_memo import MemoizingEmbedder
from vectorstore.embeddings import FloatMatrix, OfflineMiniLM, default_embedder


class CountingEmbedder:
    """The real offline model, counting the texts it is asked to embed."""

    def __init__(self, inner: OfflineMiniLM) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.texts: list[str] = []

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        self.texts.extend(texts)
        return self.inner.embed(texts)


def test_each_distinct_text_reaches_the_model_once_and_rows_keep_their_order() -> None:
    counting = CountingEmbedder(default_embedder())
    memo = MemoizingEmbedder(counting)
    first = memo.embed(["Added to Engineering.", "Removed from Sales.", "Added to Engineering."])
    second = memo.embed(["Removed from Sales.", "Added to Berlin."])

    assert counting.texts == ["Added to Engineering.", "Removed from Sales.", "Added to Berlin."]
    direct = default_embedder().embed(["Added to Engineering.", "Removed from Sales."])
    np.testing.assert_allclose(first[0], direct[0], atol=1e-6)
    np.testing.assert_allclose(first[2], direct[0], atol=1e-6)
    np.testing.assert_allclose(first[1], direct[1], atol=1e-6)
    np.testing.assert_allclose(second[0], direct[1], atol=1e-6)
    assert not np.allclose(second[1], direct[0])


def test_the_memo_is_bounded_and_forgets_the_least_recent() -> None:
    counting = CountingEmbedder(default_embedder())
    memo = MemoizingEmbedder(counting, capacity=2)
    memo.embed(["a title"])
    memo.embed(["b title"])
    memo.embed(["c title"])  # evicts "a title"
    memo.embed(["a title", "c title"])
    assert counting.texts == ["a title", "b title", "c title", "a title"]


def test_a_bare_string_is_refused() -> None:
    with pytest.raises(TypeError):
        MemoizingEmbedder(default_embedder()).embed("one string")
