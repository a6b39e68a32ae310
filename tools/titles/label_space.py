"""Texts owned by roles (catalog labels, approved titles), searchable lexically and by
embedding, with every per-role reduction the title ranker needs vectorised.

All per-label work is vectorised (sparse postings + ``np.bincount`` for the lexical side,
``reduceat`` for the per-role reductions): entries are kept sorted by owning role, so each
role's entries are one contiguous run.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tools.titles.lexical import LexicalIndex

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

REDUCED_DIMENSIONS = 128
"""Principal axes a large label matrix is first scored in (see ``LabelSpace.approximate``)."""
SMALL_BATCH = 8
"""Query count up to which ``similarities`` stays on one thread."""


def similarities(matrix: FloatArray, queries: FloatArray) -> FloatArray:
    """(rows, queries) dot products. For a few queries numpy's own single-threaded einsum
    loop is used: OpenBLAS spreads even a matrix-vector product over every core, and on a
    busy two-core machine that hand-off alone costs ~8 ms per call against ~1 ms for the
    whole product in one thread. Batches go to BLAS, where threads pay off."""
    if len(queries) <= SMALL_BATCH:
        result = np.empty((len(matrix), len(queries)), dtype=np.float32)
        for column, query in enumerate(queries):
            result[:, column] = np.einsum("nd,d->n", matrix, query)
        return result
    product: FloatArray = matrix @ queries.T
    return product


def key_runs(keys: IntArray) -> tuple[IntArray, IntArray]:
    """Start offsets and key of each run of equal keys (``keys`` sorted)."""
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]).astype(np.int64)
    return starts, keys[starts]


class LabelSpace:
    """Texts owned by roles, searchable lexically and by embedding, reduced per role."""

    def __init__(
        self,
        texts: list[str],
        owners: list[int],
        vectors: FloatArray,
        n_roles: int,
        reduce_above: int | None = None,
    ) -> None:
        order = np.argsort(np.asarray(owners, dtype=np.int64), kind="stable")
        self.texts = [texts[i] for i in order]
        self.owners = np.asarray(owners, dtype=np.int64)[order]
        self.vectors = np.ascontiguousarray(vectors[order], dtype=np.float32)
        self.lexical = LexicalIndex(self.texts)
        self.starts, self.groups = key_runs(self.owners)
        self.ends = np.r_[self.starts[1:], len(self.owners)].astype(np.int64)
        self.first = np.full(n_roles, -1, dtype=np.int64)
        self.first[self.groups] = self.starts
        self.span = np.zeros((n_roles, 2), dtype=np.int64)
        self.span[self.groups, 0], self.span[self.groups, 1] = self.starts, self.ends
        self.counts = np.zeros(n_roles, dtype=np.float32)
        self.counts[self.groups] = (self.ends - self.starts).astype(np.float32)
        self.n_roles = n_roles
        self.reduced: FloatArray | None = None
        if reduce_above is not None and len(self.texts) > reduce_above:
            self._fit_reduction()

    def _fit_reduction(self) -> None:
        """Principal axes of the label vectors: v.q = (v-m)P.(q-m)P + v.m + q.m - m.m, up to
        the variance outside the first REDUCED_DIMENSIONS axes (mean abs error ~0.008 on
        ESCO). A third of the memory traffic of the full matrix, which on two shared cores
        is what a matrix-vector product over 33k labels costs."""
        vectors = self.vectors.astype(np.float64)
        self.centre = vectors.mean(axis=0)
        _, axes = np.linalg.eigh(np.cov((vectors - self.centre).T))
        self.axes = np.ascontiguousarray(axes[:, ::-1][:, :REDUCED_DIMENSIONS], dtype=np.float32)
        self.reduced = np.ascontiguousarray(
            (vectors - self.centre) @ self.axes.astype(np.float64), dtype=np.float32
        )
        self.offset = (vectors @ self.centre - self.centre @ self.centre).astype(np.float32)

    def approximate(self, queries: FloatArray) -> FloatArray:
        """(entries, queries) approximate cosines through the reduced space."""
        if self.reduced is None:
            return similarities(self.vectors, queries)
        centre = self.centre.astype(np.float32)
        projected = (queries - centre) @ self.axes
        result: FloatArray = similarities(self.reduced, projected)
        result += self.offset[:, None] + (queries @ centre)[None, :]
        return result

    def rows_of(self, roles: IntArray) -> tuple[IntArray, IntArray]:
        """Entry rows of ``roles`` (each with >= 1 entry) in order, and each role's offset."""
        lo, hi = self.span[roles, 0], self.span[roles, 1]
        lengths = hi - lo
        starts = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)
        rows = np.repeat(lo - starts, lengths) + np.arange(int(lengths.sum()), dtype=np.int64)
        return rows, starts

    def __len__(self) -> int:
        return len(self.texts)

    def role_max(self, scores: FloatArray) -> FloatArray:
        """Best entry score per role along axis 0 (0 for a role without entries)."""
        out = np.zeros((self.n_roles, *scores.shape[1:]), dtype=np.float32)
        if len(self):
            out[self.groups] = np.maximum.reduceat(scores, self.starts, axis=0)
        return out

    def role_mean(self, scores: FloatArray) -> FloatArray:
        out = np.zeros((self.n_roles, *scores.shape[1:]), dtype=np.float32)
        if len(self):
            sums = np.add.reduceat(scores, self.starts, axis=0)
            counts = (self.ends - self.starts).astype(np.float32)
            out[self.groups] = sums / counts.reshape(-1, *([1] * (scores.ndim - 1)))
        return out

    def best_entry(self, role: int, scores: FloatArray) -> int:
        """Index of the role's best entry under ``scores`` (-1: the role has none)."""
        start, end = self.span[role]
        if end <= start:
            return -1
        return int(start + np.argmax(scores[start:end]))
