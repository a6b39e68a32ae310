"""Label embeddings cached on disk, for the suites and the fitting scripts alike.

Embedding tens of thousands of catalog or taxonomy labels takes most of a minute; a run
that has done it once keeps the vectors under var/cache, keyed by the model and the exact
texts, so a changed catalog or model never reads stale vectors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vectorstore.embeddings import MODEL_SHA256, OfflineMiniLM

CACHE = Path(__file__).resolve().parents[1] / "var" / "cache"
FloatArray = npt.NDArray[np.float32]


def cached_embeddings(texts: Sequence[str], embedder: OfflineMiniLM, *, name: str) -> FloatArray:
    """Embedding tens of thousands of labels takes most of a minute; keep them on disk,
    keyed by the model and the exact texts."""
    key = hashlib.sha256(("\n".join(texts) + MODEL_SHA256).encode()).hexdigest()[:16]
    path = CACHE / f"{name}-{key}.npy"
    if path.exists():
        cached: FloatArray = np.load(path)
        return cached
    vectors = embedder.embed(texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors
