"""Hybrid title -> role ranker: lexical + embedding over catalog labels, plus approved memory.

Why hybrid: embeddings catch paraphrases ("software developer" ~ "programmer") but blur
rare or domain words; character n-grams catch spelling variants and exact jargon; word
BM25 over all of a role's labels (and its description) credits titles that combine words
found in different labels of one role; a matching head noun ("... assistant") separates
roles that share their modifiers. Approved mappings are the strongest signal we have: the
customer already said what a near-identical title means, so they are searched like labels
of their role, and the nearest approved titles vote.

Why a numpy matrix rather than querying Chroma per title: ranking needs *every* label's
score per role for fusion, which a top-k ANN query cannot give. Chroma stays the persisted
index. ~33k label vectors x 384 float32 is 50 MB, so a large catalog is first scored in a
128-dimensional principal subspace (17 MB, fits in cache), then the SHORTLIST roles with
the best fused score get exact cosines for all their labels: every returned candidate and
its evidence are exact, roles far down the list carry an error of ~0.01. All per-label work
is vectorised (sparse postings + ``np.bincount`` for the lexical side, ``reduceat`` for the
per-role reductions); the only per-role Python work is building the k candidates returned.

Scores per role are the best label's score (a role is as good as its closest name) plus
role-level evidence (see COMPONENTS). The weights and the confidence calibration defaults
were fitted on a seeded half of the JobBERT dev file (see ``evals/fitting/titles.py``) and must be
re-fitted if the components change.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from core.title_text import NormalisedTitle, normalise_title
from tools.titles.adapter import TitleAdapter, role_centroids
from tools.titles.lexical import LexicalIndex, WordIndex, words
from tools.titles.rerank import SHIPPED as SHIPPED_RERANKERS
from tools.titles.rerank import Reranker, load_rerankers
from vectorstore.catalog_index import CatalogIndex, catalog_entries
from vectorstore.embedder import Embedder
from vectorstore.roles import CatalogRole

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

COMPONENTS: tuple[str, ...] = (
    "label_lexical",
    "label_embedding",
    "memory_lexical",
    "memory_embedding",
    "memory_knn",
    "memory_prior",
    "label_embedding_mean",
    "preferred_embedding",
    "label_words",
    "description_words",
    "head_match",
    "group_embedding",
    "label_brevity",
    "label_count",
    "memory_vote",
    "memory_exact",
    "adapted_embedding",
)
"""Per-role evidence, each roughly in [0, 1]:

- label_lexical: char n-gram cosine of the normalised title with the role's best label.
- label_embedding: best label cosine of the normalised title's embedding. (The title as
  written was embedded too until issue 4; fitted weights showed it added nothing once the
  role-level components below were in, and it doubled the embedding and matrix work.)
- label_embedding_mean: mean cosine over all of the role's labels (a role whose every name
  is close beats one with a single lucky alt label).
- preferred_embedding: cosine with the preferred label, the catalog's canonical name.
- label_words / description_words: word BM25 of the title against the bag of all the
  role's label words / its description, as a share of the title's IDF mass.
- head_match: 1 when the title's last word (its head noun, plural-folded) ends one of the
  role's labels ("marketing *executive*" vs "sales *executive*").
- group_embedding: best label cosine within the role's group (ISCO unit group for ESCO),
  so siblings of a strongly matching role share some of its evidence.
- label_brevity / label_count: query-independent catalog priors (1 / words in the
  preferred label; log share of labels): broad, well-known roles have short names and
  many synonyms, and real titles name broad roles far more often than niche ones.
- memory_lexical / memory_embedding: the best approved title of the role.
- memory_knn: summed similarity of the role's approved titles among the KNN nearest.
- memory_vote: softmax-weighted share of the VOTE_K nearest approved titles that went to
  the role (many agreeing neighbours beat one lucky neighbour; near-exact ones dominate).
- memory_exact: share of approvals of exactly this normalised title that went to the role.
- memory_prior: how often the role was approved, i.e. the customer's own distribution.
- adapted_embedding: cosine of the adapted title vector (``TitleRanker.adapter``, see
  ``tools.titles.adapter``) with the role's label centroid; 0 everywhere without an adapter.
"""

_C = {name: i for i, name in enumerate(COMPONENTS)}
MEMORY_COMPONENTS = ("memory_lexical", "memory_embedding", "memory_exact")

KNN = 10
VOTE_K = 50
VOTE_TEMPERATURE = 0.1
SHORTLIST = 200
"""Roles whose label similarities are recomputed exactly (see ``TitleRanker.components``)."""
REDUCED_DIMENSIONS = 128
APPROXIMATE_ABOVE = 4000
"""Label count from which the reduced-space first pass pays for itself."""
SMALL_BATCH = 8


@dataclass(frozen=True)
class RankerWeights:
    """Linear fusion weights per component (see COMPONENTS)."""

    label_lexical: float = 0.3
    label_embedding: float = 0.7
    memory_lexical: float = 0.5
    memory_embedding: float = 0.25
    memory_knn: float = 0.0
    memory_prior: float = 0.0
    label_embedding_mean: float = 0.0
    preferred_embedding: float = 0.0
    label_words: float = 0.0
    description_words: float = 0.0
    head_match: float = 0.0
    group_embedding: float = 0.0
    label_brevity: float = 0.0
    label_count: float = 0.0
    memory_vote: float = 0.0
    memory_exact: float = 0.0
    adapted_embedding: float = 0.0

    def as_array(self) -> FloatArray:
        return np.asarray([getattr(self, name) for name in COMPONENTS], dtype=np.float32)

    @classmethod
    def from_array(cls, values: Sequence[float]) -> RankerWeights:
        return cls(**{name: float(v) for name, v in zip(COMPONENTS, values, strict=True)})


CONFIDENCE_FEATURES: tuple[str, ...] = (
    "top_probability",
    "margin",
    "top_label_lexical",
    "top_memory",
)
"""The fused score alone is a poor judge of correctness: a near-exact label or approved-title
match (lexical ~1) is right far more often than an equally-scored blend of fuzzy evidence.
top_probability is the softmax of the final scores over all roles (the fusion and the
reranker are both fitted as softmaxes, so their scores are logits; roles outside the
reranked ones sit too far below to carry mass); margin is top minus runner-up."""


def confidence_features(scores: FloatArray, comps: FloatArray) -> npt.NDArray[np.float64]:
    """``scores``: (roles,) final scores (``TitleRanker.final_scores``); ``comps``:
    (components, roles)."""
    if len(scores) == 0:
        return np.zeros(len(CONFIDENCE_FEATURES), dtype=np.float64)
    shifted = scores.astype(np.float64) - float(scores.max())
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum()
    if len(scores) > 1:
        top_two = np.argpartition(-scores, 1)[:2]
        first, second = sorted(top_two.tolist(), key=lambda r: -float(scores[r]))
        margin = float(scores[first]) - float(scores[second])
    else:
        first, margin = 0, float(scores[0])
    memory = max(float(comps[_C[name], first]) for name in MEMORY_COMPONENTS)
    return np.asarray(
        [float(probabilities[first]), margin, float(comps[_C["label_lexical"], first]), memory],
        dtype=np.float64,
    )


@dataclass(frozen=True)
class Calibration:
    """Logistic P(top-1 correct) over CONFIDENCE_FEATURES; fitted by ``evals.fitting.titles``."""

    bias: float = -3.0
    coefficients: tuple[float, ...] = (3.0, 0.5, 2.0, 1.0)
    abstain_below: float = 0.75
    """Confidence under which we abstain; chosen where top-1 precision reaches the target."""

    def confidence(self, features: npt.NDArray[np.float64]) -> float:
        z = self.bias + float(np.dot(self.coefficients, features))
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


COLD_WEIGHTS = RankerWeights(
    label_lexical=10.054,
    label_embedding=6.601,
    memory_lexical=0.0,
    memory_embedding=0.0,
    memory_knn=0.0,
    memory_prior=0.0,
    label_embedding_mean=3.86,
    preferred_embedding=3.608,
    label_words=0.0,
    description_words=0.317,
    head_match=-0.433,
    group_embedding=2.731,
    label_brevity=1.103,
    label_count=0.145,
    memory_vote=0.0,
    memory_exact=0.0,
)
COLD_CALIBRATION = Calibration(
    bias=-2.746, coefficients=(4.788, 0.000, 0.212, 0.000), abstain_below=0.736
)
WARM_WEIGHTS = RankerWeights(
    label_lexical=3.092,
    label_embedding=4.956,
    memory_lexical=2.664,
    memory_embedding=2.167,
    memory_knn=0.022,
    memory_prior=2.3,
    label_embedding_mean=2.509,
    preferred_embedding=2.312,
    label_words=0.0,
    description_words=0.635,
    head_match=-0.558,
    group_embedding=0.0,
    label_brevity=0.541,
    label_count=-0.231,
    memory_vote=1.493,
    memory_exact=0.0,
)
WARM_CALIBRATION = Calibration(
    bias=-2.402, coefficients=(3.639, 0.063, 0.579, 0.000), abstain_below=0.685
)
"""Fitted by ``python -m evals.fitting.titles`` (seed 20260101) on half A of the JobBERT dev file,
never on half B, which the eval reports on: cold on 3,000 rows of A against catalog labels
only; warm on 3,000 rows of A2 with A1 (3,865 rows) as the approved memory. Weights
maximise the softmax likelihood of the gold role over all 2,942 ESCO roles, then a short
coordinate ascent on MRR; each profile's reranker (tools/titles/rerankers.json) is fitted
next on the same rows, then the calibration: a logistic fit of top-1 correctness on the
reranked scores with no negative coefficient, and abstain_below the lowest confidence whose
accepted fit rows reach precision 0.8. Refitted 2026-12-04 with the rerankers (the warm
weights moved, the cold ones did not). Negative
weights are real fits, not typos: given the other components, a shared head noun or a big
synonym list slightly over-credits a role. label_words fitted to 0 once the n-gram weight
rose: it is kept computed as evidence. Which profile applies depends on whether any
approved mappings are loaded and whether an adapter is set (``shipped_profile``), unless the
caller passes its own."""

COLD_ADAPTED_WEIGHTS = RankerWeights(
    label_lexical=5.116,
    label_embedding=0.0,
    memory_lexical=0.0,
    memory_embedding=0.0,
    memory_knn=0.0,
    memory_prior=0.0,
    label_embedding_mean=0.499,
    preferred_embedding=1.19,
    label_words=0.0,
    description_words=0.257,
    head_match=-0.325,
    group_embedding=0.862,
    label_brevity=0.704,
    label_count=-0.336,
    memory_vote=0.0,
    memory_exact=0.0,
    adapted_embedding=7.718,
)
COLD_ADAPTED_CALIBRATION = Calibration(
    bias=-2.772, coefficients=(4.619, 0.000, 0.400, 0.000), abstain_below=0.751
)
WARM_ADAPTED_WEIGHTS = RankerWeights(
    label_lexical=2.495,
    label_embedding=2.528,
    memory_lexical=2.347,
    memory_embedding=2.188,
    memory_knn=0.003,
    memory_prior=1.032,
    label_embedding_mean=-0.246,
    preferred_embedding=1.591,
    label_words=-0.298,
    description_words=0.624,
    head_match=0.0,
    group_embedding=2.651,
    label_brevity=0.263,
    label_count=-0.525,
    memory_vote=0.911,
    memory_exact=-0.501,
    adapted_embedding=12.721,
)
WARM_ADAPTED_CALIBRATION = Calibration(
    bias=-2.515, coefficients=(3.917, 0.060, 0.496, 0.052), abstain_below=0.706
)
"""The same fits with ``adapted_embedding`` free (the same run's "cold fit with adapter" and
"warm fit with adapter"): cold with the adapter learnt from the ESCO labels alone, warm
with the one learnt from A1 (the memory the warm weights are fitted against). The adapted
cosine takes over from the raw label cosine (cold: label_embedding fits to 0), so these
weights must not run without an adapter, nor the plain ones with one. On half B: cold MRR
0.406 -> 0.415, warm 0.576 -> 0.583."""


@dataclass(frozen=True)
class RankerProfile:
    """Fusion weights, the reranker fitted on their top roles and the calibration fitted on
    the final scores: each reads the output of the one before, so they never travel apart."""

    weights: RankerWeights
    calibration: Calibration
    reranker: Reranker | None = None


_RERANKERS = load_rerankers(SHIPPED_RERANKERS, COMPONENTS)
COLD = RankerProfile(COLD_WEIGHTS, COLD_CALIBRATION, _RERANKERS["cold"])
WARM = RankerProfile(WARM_WEIGHTS, WARM_CALIBRATION, _RERANKERS["warm"])
COLD_ADAPTED = RankerProfile(
    COLD_ADAPTED_WEIGHTS, COLD_ADAPTED_CALIBRATION, _RERANKERS["cold_adapted"]
)
WARM_ADAPTED = RankerProfile(
    WARM_ADAPTED_WEIGHTS, WARM_ADAPTED_CALIBRATION, _RERANKERS["warm_adapted"]
)


WARM_MIN_APPROVALS_PER_ROLE = 0.015
"""Without an adapter, the warm profile only pays once the memory can answer for some
titles: its weights lean on memory evidence and less on labels. Measured on 1,500 queries of
half A against ESCO (2,942 roles; memory = other rows of half A; the cold profile was fitted
on these very rows, so the comparison favours it), MRR cold vs warm profile, both with their
rerankers: 10 approvals 0.406 vs 0.373, 25 0.406 vs 0.409 (top-1 0.309 vs 0.302), 50 0.406
vs 0.427, 150 0.406 vs 0.444, 400 0.406 vs 0.475. The switch is per role (0.015 x 2,942 =
45) because what matters is how likely a title has an approved neighbour. With an adapter
the warm adapted profile won from the first approvals (25: 0.434 vs 0.424, measured before
the rerankers), so it switches at once."""


def is_warm(*, approvals: int, roles: int, adapted: bool) -> bool:
    if adapted:
        return approvals > 0
    return approvals > 0 and approvals >= WARM_MIN_APPROVALS_PER_ROLE * roles


def shipped_profile(*, warm: bool, adapted: bool) -> RankerProfile:
    """The profile fitted with exactly these components live: approved memory loaded
    (``warm``) and an adapter set (``adapted``). Weights fitted without the adapter give its
    component 0 weight, and weights fitted with it lean less on the others, so neither
    profile is right for the other case.

    Either kind of adapter gets the adapted profile, although the warm one was fitted with
    a memory adapter: a catalog adapter next to a small memory (the state before
    ``titles fit-adapter --from auto`` switches to memory) still beats no adapter under it
    (2,000 queries of half B, MRR 0.415 vs 0.385 with 50 approvals, 0.448 vs 0.424 with 200,
    0.475 vs 0.470 with 800), and only falls behind well past that switch (0.512 vs 0.530
    with 3,865)."""
    if adapted:
        return WARM_ADAPTED if warm else COLD_ADAPTED
    return WARM if warm else COLD


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


def _runs(keys: IntArray) -> tuple[IntArray, IntArray]:
    """Start offsets and key of each run of equal keys (``keys`` sorted)."""
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]).astype(np.int64)
    return starts, keys[starts]


class _LabelSpace:
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
        self.starts, self.groups = _runs(self.owners)
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


@dataclass
class _Entries:
    """Entry-level scores of one query, kept only to explain its top candidates."""

    label: FloatArray
    memory: FloatArray


def _head(text: str) -> str:
    tokens = words(text)
    return tokens[-1] if tokens else ""


class TitleRanker:
    def __init__(
        self,
        roles: Sequence[CatalogRole],
        embedder: Embedder,
        *,
        weights: RankerWeights | None = None,
        calibration: Calibration | None = None,
        label_vectors: FloatArray | None = None,
        approximate_above: int | None = APPROXIMATE_ABOVE,
        adapter: TitleAdapter | None = None,
    ) -> None:
        """``label_vectors`` (rows in ``entries()`` order) lets callers reuse vectors
        persisted in Chroma instead of re-embedding 30k labels at start-up.
        ``approximate_above``: catalogs with more labels than this are first scored in a
        reduced space (None: always exact). ``adapter``: fills ``adapted_embedding`` (see
        ``fit_adapter`` / ``fit_catalog_adapter``) and switches the default weights and
        calibration to the profiles fitted with it (``shipped_profile``)."""
        self.embedder = embedder
        self.adapter = adapter
        self._weights = weights
        self._calibration = calibration
        self._reranker: Reranker | None = None
        self.linear_only = False  # the linear fusion alone: what the reranker adds, measured
        self.role_ids = [r.role_id for r in roles]
        self._role_index = {rid: i for i, rid in enumerate(self.role_ids)}
        n_roles = len(roles)
        texts, owners, raw = [], [], []
        for i, role in enumerate(roles):
            for _kind, label in role.labels():
                texts.append(label.lower())
                raw.append(label)
                owners.append(i)
        vectors = label_vectors if label_vectors is not None else embedder.embed(raw)
        self._labels = _LabelSpace(texts, owners, vectors, n_roles, reduce_above=approximate_above)
        role_texts: list[list[str]] = [[] for _ in roles]
        for text, owner in zip(texts, owners, strict=True):
            role_texts[owner].append(text)
        self._centroids = role_centroids(self._labels.vectors, self._labels.owners, n_roles)
        self._label_words = WordIndex([[w for t in ts for w in words(t)] for ts in role_texts])
        self._description_words = WordIndex([words(r.description) for r in roles])
        heads: dict[str, set[int]] = {}
        for text, owner in zip(texts, owners, strict=True):
            heads.setdefault(_head(text), set()).add(owner)
        self._heads = {h: np.asarray(sorted(rs), dtype=np.int64) for h, rs in heads.items() if h}
        self._group_order, self._group_starts, self._group_of_role = self._groups(roles)
        self._priors = self._catalog_priors(roles)
        self._memory_vectors = np.zeros((0, embedder.dimension), dtype=np.float32)
        self._memory = _LabelSpace([], [], self._memory_vectors, n_roles)
        self._memory_prior = np.zeros(n_roles, dtype=np.float32)
        self._memory_exact: dict[str, tuple[IntArray, FloatArray]] = {}
        self._memory_pairs: list[tuple[str, str]] = []

    @staticmethod
    def _groups(roles: Sequence[CatalogRole]) -> tuple[IntArray, IntArray, IntArray]:
        """Roles ordered by group, each group's start, and each role's group number; a role
        without a group is a group of its own."""
        keys = [r.group or f"\x00{i}" for i, r in enumerate(roles)]
        numbers = {k: n for n, k in enumerate(dict.fromkeys(sorted(keys)))}
        group_of_role = np.asarray([numbers[k] for k in keys], dtype=np.int64)
        order = np.argsort(group_of_role, kind="stable").astype(np.int64)
        starts, _ = _runs(group_of_role[order])
        return order, starts, group_of_role

    def _catalog_priors(self, roles: Sequence[CatalogRole]) -> FloatArray:
        """(2, roles): label_brevity and label_count."""
        brevity = [1.0 / max(len(words(r.label)), 1) for r in roles]
        counts = np.log1p(self._labels.counts)
        scale = float(counts.max()) if len(counts) and counts.max() > 0 else 1.0
        return np.stack([np.asarray(brevity, dtype=np.float32), counts / scale]).astype(np.float32)

    @classmethod
    def from_catalog_index(
        cls,
        roles: Sequence[CatalogRole],
        index: CatalogIndex,
        embedder: Embedder,
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
    def profile(self) -> RankerProfile:
        """The shipped profile for what this ranker has now (memory, adapter; see
        ``is_warm``): both can change after construction (``remember``, ``adapter =``), so it
        is not cached."""
        adapted = self.adapter is not None
        warm = is_warm(approvals=len(self._memory), roles=len(self.role_ids), adapted=adapted)
        return shipped_profile(warm=warm, adapted=adapted)

    @property
    def weights(self) -> RankerWeights:
        return self._weights if self._weights is not None else self.profile.weights

    @weights.setter
    def weights(self, value: RankerWeights | None) -> None:
        self._weights = value

    @property
    def reranker(self) -> Reranker | None:
        if self.linear_only:
            return None
        return self._reranker if self._reranker is not None else self.profile.reranker

    @reranker.setter
    def reranker(self, value: Reranker | None) -> None:
        self._reranker = value

    @property
    def calibration(self) -> Calibration:
        return self._calibration if self._calibration is not None else self.profile.calibration

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
        exact: dict[str, Counter[int]] = {}
        for text, role_id in self._memory_pairs:
            exact.setdefault(text, Counter())[self._role_index[role_id]] += 1
        self._memory_exact = {}
        for text, votes in exact.items():
            total = sum(votes.values())
            self._memory_exact[text] = (
                np.asarray(list(votes.keys()), dtype=np.int64),
                np.asarray([v / total for v in votes.values()], dtype=np.float32),
            )

    def fit_adapter(self) -> TitleAdapter:
        """Learn an adapter from the approved memory (each approved title -> its role's
        label centroid) and use it. ~1 minute per 4k approvals on one core, so it is an
        explicit refit step, not part of ``remember``."""
        if not len(self._memory):
            raise ValueError("no approved mappings to fit an adapter on")
        self.adapter = TitleAdapter.fit(self._memory.vectors, self._memory.owners, self._centroids)
        return self.adapter

    def fit_catalog_adapter(self) -> TitleAdapter:
        """Learn an adapter from the catalog's own labels (cold start); a few minutes on one
        core, so callers should persist ``adapter.matrix``."""
        labels = self._labels
        self.adapter = TitleAdapter.fit_catalog(labels.vectors, labels.owners, len(self.role_ids))
        return self.adapter

    def embed_titles(self, parsed: Sequence[NormalisedTitle]) -> FloatArray:
        """One embedding per title (its normalised text), duplicates embedded once."""
        texts = [p.text for p in parsed]
        unique = list(dict.fromkeys(texts))
        row = {text: i for i, text in enumerate(unique)}
        vectors = self.embedder.embed(unique)
        return vectors[[row[t] for t in texts]].reshape(len(parsed), -1)

    def components(self, title: NormalisedTitle, vector: FloatArray) -> FloatArray:
        """(components, roles) evidence matrix for one title, rows in COMPONENTS order."""
        single: FloatArray = self.components_batch([title], vector[None, :])[0]
        return single

    def components_batch(
        self,
        parsed: Sequence[NormalisedTitle],
        vectors: FloatArray,
        entries: list[_Entries] | None = None,
        *,
        exact: bool = False,
    ) -> FloatArray:
        """(titles, components, roles) evidence for a batch.

        Label cosines of a large catalog are first computed in a reduced space (see
        ``_LabelSpace.approximate``), then recomputed exactly for the SHORTLIST roles with
        the best fused score, which is where every returned candidate comes from. ``exact``
        skips the approximation (the eval fits weights on exact evidence). ``entries`` is
        filled with each title's entry-level scores, to explain its candidates."""
        n, n_roles = len(parsed), len(self.role_ids)
        out = np.zeros((n, len(COMPONENTS), n_roles), dtype=np.float32)
        if n == 0 or n_roles == 0:
            return out
        labels = self._labels
        approximate = not exact and labels.reduced is not None and n_roles > SHORTLIST
        dense = (
            labels.approximate(vectors) if approximate else similarities(labels.vectors, vectors)
        )
        out[:, _C["label_embedding"]] = labels.role_max(dense).T
        out[:, _C["label_embedding_mean"]] = labels.role_mean(dense).T
        preferred = labels.first >= 0
        out[:, _C["preferred_embedding"], preferred] = dense[labels.first[preferred]].T
        if self.adapter is not None:
            adapted = self.adapter.transform(vectors)
            out[:, _C["adapted_embedding"]] = similarities(self._centroids, adapted).T
        memory = self._memory
        memory_dense = similarities(memory.vectors, vectors) if len(memory) else None
        lexical_rows: list[FloatArray] = []
        memory_rows: list[FloatArray] = []
        for i, title in enumerate(parsed):
            lexical = labels.lexical.query(title.text)
            out[i, _C["label_lexical"]] = labels.role_max(lexical)
            tokens = words(title.text)
            out[i, _C["label_words"]] = self._label_words.query(tokens)
            out[i, _C["description_words"]] = self._description_words.query(tokens)
            heads = self._heads.get(tokens[-1]) if tokens else None
            if heads is not None:
                out[i, _C["head_match"], heads] = 1.0
            if memory_dense is not None:
                memory_lexical = memory.lexical.query(title.text)
                self._memory_components(out[i], title.text, memory_lexical, memory_dense[:, i])
                if entries is not None:
                    memory_rows.append(np.maximum(memory_lexical, memory_dense[:, i]))
            if entries is not None:
                lexical_rows.append(lexical)
        self._catalog_components(out)
        if approximate:
            fused = np.einsum("c,tcr->tr", self.weights.as_array(), out)
            for i in range(n):
                shortlist = np.sort(np.argpartition(-fused[i], SHORTLIST)[:SHORTLIST])
                self._exact_labels(out[i], dense[:, i], shortlist, vectors[i])
            self._catalog_components(out)
        if entries is not None:
            for i in range(n):
                label_best = np.maximum(dense[:, i], lexical_rows[i])
                memory_best = memory_rows[i] if memory_rows else np.zeros(0, dtype=np.float32)
                entries.append(_Entries(label_best, memory_best))
        return out

    def _exact_labels(
        self, out: FloatArray, dense: FloatArray, roles: IntArray, vector: FloatArray
    ) -> None:
        """Exact label cosines for ``roles``, written into ``out`` and ``dense``."""
        labels = self._labels
        roles = roles[labels.span[roles, 1] > labels.span[roles, 0]]
        rows, starts = labels.rows_of(roles)
        if rows.size == 0:
            return
        sims = np.einsum("nd,d->n", labels.vectors[rows], vector)
        dense[rows] = sims
        lengths = np.diff(np.r_[starts, rows.size])
        out[_C["label_embedding"], roles] = np.maximum.reduceat(sims, starts)
        out[_C["label_embedding_mean"], roles] = np.add.reduceat(sims, starts) / lengths
        out[_C["preferred_embedding"], roles] = sims[starts]

    def _catalog_components(self, out: FloatArray) -> None:
        """Group smoothing and query-independent priors, for a (titles, C, roles) block."""
        closest = out[:, _C["label_embedding"]]
        by_group = np.maximum.reduceat(closest[:, self._group_order], self._group_starts, axis=1)
        out[:, _C["group_embedding"]] = by_group[:, self._group_of_role]
        out[:, _C["label_brevity"]] = self._priors[0]
        out[:, _C["label_count"]] = self._priors[1]

    def _memory_components(
        self, out: FloatArray, text: str, lexical: FloatArray, dense: FloatArray
    ) -> None:
        memory = self._memory
        out[_C["memory_lexical"]] = memory.role_max(lexical)
        out[_C["memory_embedding"]] = memory.role_max(dense)
        out[_C["memory_prior"]] = self._memory_prior
        k = min(VOTE_K, len(dense))
        nearest = np.argpartition(-dense, k - 1)[:k] if k < len(dense) else np.arange(len(dense))
        nearest = nearest[np.argsort(-dense[nearest], kind="stable")]
        sims = dense[nearest]
        owners = memory.owners[nearest]
        top = nearest[:KNN]
        np.add.at(out[_C["memory_knn"]], memory.owners[top], np.maximum(dense[top], 0.0))
        votes = np.exp((sims - sims[0]) / VOTE_TEMPERATURE)
        np.add.at(out[_C["memory_vote"]], owners, votes / votes.sum())
        hit = self._memory_exact.get(text)
        if hit is not None:
            out[_C["memory_exact"], hit[0]] = hit[1]

    def fuse(self, comps: FloatArray) -> FloatArray:
        """Fused score per role from a (components, roles) or (titles, C, roles) block."""
        fused: FloatArray = np.tensordot(self.weights.as_array(), comps, axes=([0], [-2]))
        return fused

    def final_scores(self, comps: FloatArray) -> FloatArray:
        """(titles, roles) scores candidates are ranked and calibrated by: the linear fusion,
        its best roles reordered by the reranker when the profile has one."""
        fused = self.fuse(comps)
        reranker = self.reranker
        if reranker is None:
            return fused
        return np.stack([reranker.rerank(f, c) for f, c in zip(fused, comps, strict=True)])

    def rank(self, title: str, k: int = 10) -> RankResult:
        return self.rank_many([title], k=k)[0]

    def rank_many(self, titles: Sequence[str], k: int = 10) -> list[RankResult]:
        """Batch form: one embedding call and one label matrix product per chunk of titles
        is several times cheaper per title than one call each."""
        results: list[RankResult] = []
        chunk = 256
        for start in range(0, len(titles), chunk):
            results.extend(self._rank_chunk(titles[start : start + chunk], k))
        return results

    def _rank_chunk(self, titles: Sequence[str], k: int) -> list[RankResult]:
        parsed = [normalise_title(t) for t in titles]
        vectors = self.embed_titles(parsed)
        entries: list[_Entries] = []
        comps = self.components_batch(parsed, vectors, entries)
        final = self.final_scores(comps)
        calibration = self.calibration
        results = []
        for title, scores, comp, entry in zip(parsed, final, comps, entries, strict=True):
            if k < len(scores):
                top = np.argpartition(-scores, k)[:k]
                top = top[np.lexsort((top, -scores[top]))]
            else:
                top = np.lexsort((np.arange(len(scores)), -scores))
            confidence = calibration.confidence(confidence_features(scores, comp))
            results.append(
                RankResult(
                    title=title,
                    candidates=[self._candidate(int(r), scores, comp, entry) for r in top],
                    confidence=confidence,
                    abstained=confidence < calibration.abstain_below,
                )
            )
        return results

    def _candidate(
        self, role: int, scores: FloatArray, comps: FloatArray, entries: _Entries
    ) -> Candidate:
        evidence: dict[str, str | float] = {
            name: round(float(comps[c, role]), 4) for c, name in enumerate(COMPONENTS)
        }
        label_entry = self._labels.best_entry(role, entries.label)
        if label_entry >= 0:
            evidence["label"] = self._labels.texts[label_entry]
        if len(self._memory):
            memory_entry = self._memory.best_entry(role, entries.memory)
            if memory_entry >= 0:
                evidence["approved_title"] = self._memory.texts[memory_entry]
        return Candidate(role_id=self.role_ids[role], score=float(scores[role]), evidence=evidence)
