"""An embedder that embeds each text once per process.

Decision reasoning is built from catalog names and rule reasons, so a backfill of ten
thousand hires produces a few hundred distinct paragraphs; embedding each of them once
instead of once per event took the embedding model off the per-event path (it was a third
of provisioning time). Embeddings are a pure function of model and text, so a remembered
vector is exactly the one the model would give again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from pii.lru import LRU
from vectorstore.embedder import Embedder
from vectorstore.embeddings import FloatMatrix

DEFAULT_CAPACITY = 8192  # 8192 x 384 float32 = 12.6 MB


class MemoizingEmbedder:
    """Wraps an embedder (local or remote, so a remote one is also called less)."""

    def __init__(self, inner: Embedder, *, capacity: int = DEFAULT_CAPACITY) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self._known: LRU[str, npt.NDArray[np.float32]] = LRU(capacity)

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        """Remembered rows are copied in; the rest are embedded together in one call."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings, not a single string")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        for row, text in enumerate(texts):
            vector = self._known.get(text)
            if vector is None:
                missing.setdefault(text, []).append(row)
            else:
                out[row] = vector
        if missing:
            fresh = self.inner.embed(list(missing))
            for (text, rows), vector in zip(missing.items(), fresh, strict=True):
                self._known.put(text, vector)
                out[rows] = vector
        return out
