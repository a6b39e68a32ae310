"""Clause-pooled document vectors: clauses split where a decision paragraph splits them,
and each distinct clause reaches the model once across a batch of documents."""

from __future__ import annotations

import numpy as np

from tests.unit.test_embedding_memo import CountingEmbedder
from vectorstore.clause_pooling import clauses, pooled_embeddings
from vectorstore.embedding_memo import MemoizingEmbedder
from vectorstore.embeddings import default_embedder

PARAGRAPH = (
    "employee.hired: create the LMS account. Added to Role: Registered Nurses because job "
    "code 29-1141.00; Berlin because location Berlin. Removed from Sales."
)


def test_a_decision_paragraph_splits_into_its_clauses() -> None:
    assert clauses(PARAGRAPH) == [
        "employee.hired: create the LMS account.",
        "Added to Role: Registered Nurses because job code 29-1141.00;",
        "Berlin because location Berlin.",
        "Removed from Sales.",
    ]
    assert clauses("") == [""]


def test_a_one_clause_text_keeps_the_models_own_vector() -> None:
    (pooled,) = pooled_embeddings(default_embedder(), ["Added to Berlin because location Berlin."])
    direct = default_embedder().embed(["Added to Berlin because location Berlin."])[0]
    np.testing.assert_allclose(pooled, direct, atol=1e-6)
    assert abs(float(np.linalg.norm(pooled)) - 1.0) < 1e-5


def test_shared_clauses_are_embedded_once_across_documents() -> None:
    counting = CountingEmbedder(default_embedder())
    memo = MemoizingEmbedder(counting)
    first = "Added to Engineering because department Engineering. Removed from Sales."
    second = "Added to Engineering because department Engineering. Removed from Berlin."
    vectors = pooled_embeddings(memo, [first, second])
    pooled_embeddings(memo, [first])
    assert counting.texts == [
        "Added to Engineering because department Engineering.",
        "Removed from Sales.",
        "Removed from Berlin.",
    ]
    assert float(vectors[0] @ vectors[1]) > 0.8  # same main clause, different tail
