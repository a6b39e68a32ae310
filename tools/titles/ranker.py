"""Hybrid title -> role ranker: lexical + embedding over catalog labels, plus approved memory.

Why hybrid: embeddings catch paraphrases ("software developer" ~ "programmer") but blur
rare or domain words; character n-grams catch spelling variants and exact jargon.
Approved mappings are the strongest signal we have: the customer already said what a
near-identical title means, so they are searched like labels of their role.

Why a numpy matrix rather than querying Chroma per title: ~30k label vectors x 384 float32
is 46 MB, a dot product over it takes ~2 ms, and ranking needs *every* label's score per
role for fusion, which a top-k ANN query cannot give. Chroma stays the persisted index.

Scores per role are the best label's score (a role is as good as its closest name). The
weights and the confidence calibration defaults were fitted on a seeded half of the JobBERT
dev file (see ``evals/titles.py``) and must be re-fitted if the components change.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tools.titles.lexical import LexicalIndex
from tools.titles.normalise import NormalisedTitle, normalise_title
from vectorstore.catalog_index import CatalogIndex, catalog_entries
from vectorstore.embeddings import OfflineMiniLM
from vectorstore.roles import CatalogRole

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
COMPONENTS: tuple[str, ...] = (
    "label_lexical",
    "label_embedding",
    "label_embedding_raw",
    "memory_lexical",
    "memory_embedding",
    "memory_knn",
    "memory_prior",
)
"""label_embedding embeds the normalised title, label_embedding_raw the title as written
(stripped words such as "senior" or a place sometimes are the role's meaning);
memory_knn sums similarities of the nearest approved titles per role (many approved
neighbours agreeing beat one lucky neighbour); memory_prior is how often a role was
approved, i.e. the customer's own distribution of roles."""

KNN = 10


@dataclass(frozen=True)
class RankerWeights:
    """Linear fusion weights per component (see COMPONENTS)."""

    label_lexical: float = 0.3
    label_embedding: float = 0.35
    label_embedding_raw: float = 0.35
    memory_lexical: float = 0.5
    memory_embedding: float = 0.25
    memory_knn: float = 0.0
    memory_prior: float = 0.0

    def as_array(self) -> FloatArray:
        return np.asarray([getattr(self, name) for name in COMPONENTS], dtype=np.float32)

    @classmethod
    def from_array(cls, values: Sequence[float]) -> RankerWeights:
        return cls(**{name: float(v) for name, v in zip(COMPONENTS, values, strict=True)})


CONFIDENCE_FEATURES: tuple[str, ...] = ("top", "margin", "top_label_lexical", "top_memory")
"""The fused score alone is a poor judge of correctness: a near-exact label or approved-title
match (lexical ~1) is right far more often than an equally-scored blend of fuzzy evidence."""


def confidence_features(fused: FloatArray, comps: FloatArray) -> npt.NDArray[np.float64]:
    top_two = np.argpartition(-fused, 1)[:2] if len(fused) > 1 else np.asarray([0, 0])
    first, second = sorted(top_two.tolist(), key=lambda r: -float(fused[r]))
    top = float(fused[first])
    margin = top - float(fused[second]) if len(fused) > 1 else top
    memory = float(max(comps[3, first], comps[4, first]))
    return np.asarray([top, margin, float(comps[0, first]), memory], dtype=np.float64)


@dataclass(frozen=True)
class Calibration:
    """Logistic P(top-1 correct) over CONFIDENCE_FEATURES; fitted by ``evals.titles``."""

    bias: float = -3.0
    coefficients: tuple[float, ...] = (0.5, 3.0, 2.0, 1.0)
    abstain_below: float = 0.75
    """Confidence under which we abstain; chosen where top-1 precision reaches the target."""

    def confidence(self, features: npt.NDArray[np.float64]) -> float:
        z = self.bias + float(np.dot(self.coefficients, features))
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


COLD_WEIGHTS = RankerWeights(
    label_lexical=0.5,
    label_embedding=1.0,
    label_embedding_raw=1.0,
    memory_lexical=0.0,
    memory_embedding=0.0,
    memory_knn=0.0,
    memory_prior=0.0,
)
COLD_CALIBRATION = Calibration(
    bias=-2.647, coefficients=(0.383, 2.952, 1.047, 0.0), abstain_below=0.771
)
WARM_WEIGHTS = RankerWeights(
    label_lexical=1.5,
    label_embedding=1.0,
    label_embedding_raw=4.0,
    memory_lexical=1.5,
    memory_embedding=0.0,
    memory_knn=0.5,
    memory_prior=0.7,
)
WARM_CALIBRATION = Calibration(
    bias=-1.803, coefficients=(0.061, 0.590, 0.769, 0.059), abstain_below=0.693
)
"""Fitted by ``python -m evals.titles`` (seed 20260101) on half A of the JobBERT dev file:
cold on catalog labels only, warm with approved memory. Which profile applies depends on
whether any approved mappings are loaded, unless the caller passes its own."""


@dataclass(frozen=True)
class Candidate:
    role_id: str
    score: float
    evidence: dict[str, str | float]


@dataclass(frozen=True)
class RankResult:
    title: NormalisedTitle
    candidates: list[Candidate]
    confidence: float
    abstained: bool

    @property
    def best(self) -> Candidate | None:
        """The suggestion, or None when the ranker is not confident enough to make one."""
        return None if self.abstained or not self.candidates else self.candidates[0]


def _contiguous_groups(owners: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], ...]:
    """Start offsets and role index of each run of equal owners (entries are role-sorted)."""
    if owners.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]).astype(np.int64)
    return starts, owners[starts]


class _LabelSpace:
    """Texts owned by roles, searchable lexically and by embedding, reduced per role."""

    def __init__(
        self, texts: list[str], owners: list[int], vectors: FloatArray, n_roles: int
    ) -> None:
        order = np.argsort(np.asarray(owners, dtype=np.int64), kind="stable")
        self.texts = [texts[i] for i in order]
        self.owners = np.asarray(owners, dtype=np.int64)[order]
        self.vectors = np.ascontiguousarray(vectors[order], dtype=np.float32)
        self.lexical = LexicalIndex(self.texts)
        self.starts, self.groups = _contiguous_groups(self.owners)
        self.n_roles = n_roles

    def __len__(self) -> int:
        return len(self.texts)

    def role_max(self, scores: FloatArray) -> tuple[FloatArray, npt.NDArray[np.int64]]:
        """Best score per role and the entry index that achieved it (-1: role has no entry)."""
        best = np.zeros(self.n_roles, dtype=np.float32)
        where = np.full(self.n_roles, -1, dtype=np.int64)
        if len(self) == 0:
            return best, where
        best[self.groups] = np.maximum.reduceat(scores, self.starts)
        # argmax per group: the first entry whose score equals its group's max
        is_max = scores >= best[self.owners]
        idx = np.flatnonzero(is_max)
        first = np.unique(self.owners[idx], return_index=True)
        where[first[0]] = idx[first[1]]
        return best, where

    def scores(self, text: str, vector: FloatArray) -> tuple[FloatArray, FloatArray]:
        if len(self) == 0:
            empty = np.zeros(0, dtype=np.float32)
            return empty, empty
        return self.lexical.query(text), self.vectors @ vector


class TitleRanker:
    def __init__(
        self,
        roles: Sequence[CatalogRole],
        embedder: OfflineMiniLM,
        *,
        weights: RankerWeights | None = None,
        calibration: Calibration | None = None,
        label_vectors: FloatArray | None = None,
    ) -> None:
        """``label_vectors`` (rows in ``entries()`` order) lets callers reuse vectors
        persisted in Chroma instead of re-embedding 30k labels at start-up."""
        self.embedder = embedder
        self._weights = weights
        self._calibration = calibration
        self.role_ids = [r.role_id for r in roles]
        self._role_index = {rid: i for i, rid in enumerate(self.role_ids)}
        texts, owners, raw = [], [], []
        for i, role in enumerate(roles):
            for _kind, label in role.labels():
                texts.append(label.lower())
                raw.append(label)
                owners.append(i)
        vectors = label_vectors if label_vectors is not None else embedder.embed(raw)
        self._labels = _LabelSpace(texts, owners, vectors, len(roles))
        self._memory_vectors = np.zeros((0, embedder.dimension), dtype=np.float32)
        self._memory = _LabelSpace([], [], self._memory_vectors, len(roles))
        self._memory_prior = np.zeros(len(roles), dtype=np.float32)
        self._memory_pairs: list[tuple[str, str]] = []

    @classmethod
    def from_catalog_index(
        cls,
        roles: Sequence[CatalogRole],
        index: CatalogIndex,
        embedder: OfflineMiniLM,
        **options: Any,
    ) -> TitleRanker:
        """Start from the vectors persisted in Chroma (seconds) instead of re-embedding the
        catalog (~45 s for ESCO). The index is synced first so it cannot be stale."""
        index.sync(roles)
        stored, matrix = index.vectors()
        row_of = {entry.entry_id: row for row, entry in enumerate(stored)}
        rows = [row_of[entry.entry_id] for entry in catalog_entries(roles)]
        return cls(roles, embedder, label_vectors=matrix[rows], **options)

    @property
    def weights(self) -> RankerWeights:
        if self._weights is not None:
            return self._weights
        return WARM_WEIGHTS if len(self._memory) else COLD_WEIGHTS

    @weights.setter
    def weights(self, value: RankerWeights | None) -> None:
        self._weights = value

    @property
    def calibration(self) -> Calibration:
        if self._calibration is not None:
            return self._calibration
        return WARM_CALIBRATION if len(self._memory) else COLD_CALIBRATION

    @calibration.setter
    def calibration(self, value: Calibration | None) -> None:
        self._calibration = value

    @property
    def memory_size(self) -> int:
        return len(self._memory)

    def remember(self, approved: Iterable[tuple[str, str]]) -> None:
        """Add approved (title, role_id) pairs; unknown role ids are skipped with a warning.

        Rebuilding the memory's lexical index is cheap (~10k short texts in well under a
        second); only the new titles are embedded."""
        new = []
        for title, role_id in approved:
            if role_id not in self._role_index:
                logger.warning("approved mapping to unknown role %s ignored", role_id)
                continue
            new.append((normalise_title(title).text, role_id))
        if not new:
            return
        self._memory_pairs.extend(new)
        fresh = self.embedder.embed([text for text, _ in new])
        self._memory_vectors = np.vstack([self._memory_vectors, fresh])
        self._memory = _LabelSpace(
            [text for text, _ in self._memory_pairs],
            [self._role_index[r] for _, r in self._memory_pairs],
            self._memory_vectors,
            len(self.role_ids),
        )
        counts = np.bincount(self._memory.owners, minlength=len(self.role_ids))
        self._memory_prior = (np.log1p(counts) / np.log1p(max(counts.max(), 1))).astype(np.float32)

    def components(
        self, title: NormalisedTitle, vector: FloatArray, raw_vector: FloatArray
    ) -> tuple[FloatArray, npt.NDArray[np.int64]]:
        """Per-role score of each component (rows in COMPONENTS order) and the winning entry."""
        n_roles = len(self.role_ids)
        out = np.zeros((len(COMPONENTS), n_roles), dtype=np.float32)
        where = np.full((len(COMPONENTS), n_roles), -1, dtype=np.int64)
        labels = self._labels
        out[0], where[0] = labels.role_max(labels.lexical.query(title.text))
        out[1], where[1] = labels.role_max(labels.vectors @ vector)
        out[2], where[2] = labels.role_max(labels.vectors @ raw_vector)
        if len(self._memory):
            lexical, dense = self._memory.scores(title.text, vector)
            out[3], where[3] = self._memory.role_max(lexical)
            out[4], where[4] = self._memory.role_max(dense)
            nearest = np.argpartition(-dense, min(KNN, len(dense) - 1))[:KNN]
            np.add.at(out[5], self._memory.owners[nearest], np.maximum(dense[nearest], 0.0))
            out[6] = self._memory_prior
        return out, where

    def rank(self, title: str, k: int = 10) -> RankResult:
        return self.rank_many([title], k=k)[0]

    def embed_titles(self, parsed: Sequence[NormalisedTitle]) -> tuple[FloatArray, FloatArray]:
        """Normalised and as-written forms in one embedding call."""
        texts = [p.text for p in parsed] + [" ".join(p.raw.lower().split()) for p in parsed]
        vectors = self.embedder.embed(texts)
        return vectors[: len(parsed)], vectors[len(parsed) :]

    def rank_many(self, titles: Sequence[str], k: int = 10) -> list[RankResult]:
        """Batch form: one embedding call for all titles is ~5x cheaper than one per title."""
        parsed = [normalise_title(t) for t in titles]
        vectors, raw_vectors = self.embed_titles(parsed)
        weights = self.weights.as_array()
        results = []
        for title, vector, raw_vector in zip(parsed, vectors, raw_vectors, strict=True):
            comps, where = self.components(title, vector, raw_vector)
            fused = weights @ comps
            top = np.argsort(-fused, kind="stable")[:k]
            confidence = self.calibration.confidence(confidence_features(fused, comps))
            candidates = [self._candidate(int(r), fused, comps, where) for r in top[:k]]
            results.append(
                RankResult(
                    title=title,
                    candidates=candidates,
                    confidence=confidence,
                    abstained=confidence < self.calibration.abstain_below,
                )
            )
        return results

    def _candidate(
        self, role: int, fused: FloatArray, comps: FloatArray, where: npt.NDArray[np.int64]
    ) -> Candidate:
        evidence: dict[str, str | float] = {}
        for c, name in enumerate(COMPONENTS):
            evidence[name] = round(float(comps[c, role]), 4)
        label_entry = where[int(np.argmax(comps[:3, role])), role]
        if label_entry >= 0:
            evidence["label"] = self._labels.texts[int(label_entry)]
        memory_entry = where[4, role] if comps[4, role] >= comps[3, role] else where[3, role]
        if memory_entry >= 0:
            evidence["approved_title"] = self._memory.texts[int(memory_entry)]
        return Candidate(role_id=self.role_ids[role], score=float(fused[role]), evidence=evidence)
