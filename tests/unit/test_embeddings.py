"""Offline MiniLM: pinned weights, normalised output, sane similarities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vectorstore.embeddings import (
    DIMENSION,
    MODEL_SHA256,
    EmbedderConfig,
    MiniLMEmbeddingFunction,
    ModelIntegrityError,
    OfflineMiniLM,
    default_embedder,
    default_model_path,
    default_tokenizer_path,
    verify_file,
)


def test_pinned_hash_matches_installed_model() -> None:
    assert MODEL_SHA256.startswith("8199be6f") and MODEL_SHA256.endswith("d2a6")
    verify_file(default_model_path(), MODEL_SHA256, "model")


def test_wrong_hash_is_a_clear_error() -> None:
    config = EmbedderConfig(default_model_path(), default_tokenizer_path(), model_sha256="0" * 64)
    with pytest.raises(ModelIntegrityError, match="sha256"):
        OfflineMiniLM(config)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    config = EmbedderConfig(tmp_path / "nope.onnx", default_tokenizer_path())
    with pytest.raises(ModelIntegrityError, match="not found"):
        OfflineMiniLM(config)


def test_vectors_are_normalised_float32() -> None:
    vectors = default_embedder().embed(["software engineer", "a", "x" * 2000])
    assert vectors.shape == (3, DIMENSION)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert default_embedder().embed([]).shape == (0, DIMENSION)


def test_similarities_are_sane() -> None:
    v = default_embedder().embed(["software engineer", "software developer", "registered nurse"])
    assert v[0] @ v[1] > 0.7
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3


def test_batching_does_not_change_vectors() -> None:
    texts = ["account manager", "senior key account manager for enterprise customers", "nurse"]
    together = default_embedder().embed(texts)
    alone = np.vstack([default_embedder().embed([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-4)


def test_provider_builds_once() -> None:
    assert default_embedder() is default_embedder()


def test_chroma_function_round_trips_config() -> None:
    function = MiniLMEmbeddingFunction()
    rebuilt = MiniLMEmbeddingFunction.build_from_config(function.get_config())
    assert isinstance(rebuilt, MiniLMEmbeddingFunction)
    assert len(function(["software engineer"])[0]) == DIMENSION
    with pytest.raises(ModelIntegrityError):
        MiniLMEmbeddingFunction.build_from_config({"model_sha256": "bad"})
