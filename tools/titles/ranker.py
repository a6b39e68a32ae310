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
role-level evidence (see ``tools.titles.components``). The weights, rerankers and
confidence calibrations it uses by default (``tools.titles.profiles``, read from
``profiles.json`` and ``rerankers.json``) were fitted on a seeded half of the JobBERT dev
file (see ``evals/fitting/titles.py``) and must be re-fitted if the components change. The label
matrix and its per-role reductions are ``tools.titles.label_space``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from core.title_text import NormalisedTitle, normalise_title
from tools.titles.adapter import TitleAdapter, role_centroids
from tools.titles.components import COMPONENT_INDEX as _C
from tools.titles.components import COMPONENTS, RankerWeights
from tools.titles.confidence import Calibration, confidence_features
from tools.titles.label_space import LabelSpace, key_runs, similarities
from tools.titles.lexical import WordIndex, words
from tools.titles.profiles import RankerProfile, is_warm, shipped_profile
from tools.titles.rerank import Reranker
from vectorstore.catalog_index import CatalogIndex, catalog_entries
from vectorstore.embedder import Embedder
from vectorstore.roles import CatalogRole

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

KNN = 10
VOTE_K = 50
VOTE_TEMPERATURE = 0.1
SHORTLIST = 200
"""Roles whose label similarities are recomputed exactly (see ``TitleRanker.components``)."""
APPROXIMATE_ABOVE = 4000
"""Label count from which the reduced-space first pass pays for itself."""


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
        self._labels = LabelSpace(texts, owners, vectors, n_roles, reduce_above=approximate_above)
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
        self._memory = LabelSpace([], [], self._memory_vectors, n_roles)
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
        starts, _ = key_runs(group_of_role[order])
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
        self._memory = LabelSpace(
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
        ``LabelSpace.approximate``), then recomputed exactly for the SHORTLIST roles with
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
