"""Free-text skill -> taxonomy concept, with a calibrated confidence and abstention.

Why this design (mirrors :mod:`tools.titles.ranker`, and shares its fusion and calibration
arithmetic, :mod:`tools.titles.fusion`):

- Hybrid scoring. Embeddings catch paraphrase ("team player" ~ "work in teams"); character
  n-grams catch product names and spelling variants that a small embedding model blurs
  ("SQL DBs", "CSS/SASS"). Each concept scores as its best entry (preferred label or alias).
- Two views of the mention. The cleaned mention as written keeps words a normaliser might
  wrongly strip; the normalised one (:func:`normalise_mention`) drops versions, expands
  shorthand and job-ad framing. Fusion weights decide how much each is worth.
- Context. A span cut from a job ad ("development", "architecture") is often too short to
  place on its own; the sentence it came from says which "architecture" is meant. The
  sentence vector is one more component against the same label vectors. Bare strings (an
  HRIS profile) have no sentence, and the fused score then has a different scale, so they
  get their own fitted :class:`Profile` (weights + calibration) instead of a borrowed one.
- Abstention. Most job-ad skill mentions that have no taxonomy concept still have a
  nearest label, so "no match" cannot be a score threshold picked by eye: a small logistic
  over CONFIDENCE_FEATURES estimates P(top-1 is right), trained on rows where the right
  answer is sometimes "nothing", and we abstain when that is below 0.5 (a suggestion more
  likely wrong than right is not made). Candidates are still returned for a reviewer.

Why a numpy matrix rather than querying Chroma per mention: fusion needs every concept's
score under every component, which a top-k ANN query cannot give, and 25k x 384 float32
is 38 MB. Chroma (:mod:`vectorstore.skills_index`) persists the vectors so start-up does
not re-embed the taxonomy.

The shipped profiles were fitted by ``python -m evals.fitting.skills`` on a seeded half of the
skill-extraction dev files and must be re-fitted if any component or feature changes.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tools.skills.normalise import clean_mention, normalise_mention, tokens
from tools.skills.profiles import (
    ALONE_PROFILE,
    COMPONENTS,
    CONTEXT_PROFILE,
    Profile,
)
from tools.skills.taxonomy import SkillConcept
from tools.titles.lexical import LexicalIndex
from vectorstore.embeddings import OfflineMiniLM
from vectorstore.progress import Progress

if TYPE_CHECKING:
    from vectorstore.skills_index import SkillsIndex

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

EMBED_BATCH = 64


def confidence_features(
    fused: FloatArray, comps: FloatArray, words: int
) -> npt.NDArray[np.float64]:
    if len(fused) > 1:
        pair = np.argpartition(-fused, 1)[:2]
        first, second = sorted(pair.tolist(), key=lambda r: -float(fused[r]))
        margin = float(fused[first]) - float(fused[second])
    else:
        first, margin = 0, float(fused[0]) if len(fused) else 0.0
    top = float(fused[first]) if len(fused) else 0.0
    lexical = float(comps[2, first]) if len(fused) else 0.0
    embedding = float(max(comps[0, first], comps[1, first])) if len(fused) else 0.0
    return np.asarray([top, margin, lexical, embedding, math.log1p(words)], dtype=np.float64)


@dataclass(frozen=True)
class SkillCandidate:
    concept_id: str
    label: str
    score: float
    evidence: dict[str, str | float]


@dataclass(frozen=True)
class SkillMatch:
    text: str
    normalised: str
    candidates: list[SkillCandidate]
    confidence: float
    abstained: bool

    @property
    def best(self) -> SkillCandidate | None:
        """The suggestion, or None when the normaliser is not confident enough to make one."""
        return None if self.abstained or not self.candidates else self.candidates[0]


@dataclass(frozen=True)
class EncodedMention:
    """A mention ready for scoring: both text forms and the three query vectors."""

    text: str
    cleaned: str
    normalised: str
    vector: FloatArray
    raw_vector: FloatArray
    context_vector: FloatArray
    """The sentence's vector, or the mention's own when it came without one."""
    has_context: bool

    @property
    def words(self) -> int:
        return len(tokens(self.cleaned))


class SkillNormaliser:
    def __init__(
        self,
        concepts: Sequence[SkillConcept],
        embedder: OfflineMiniLM,
        *,
        profile: Profile = CONTEXT_PROFILE,
        alone_profile: Profile = ALONE_PROFILE,
        entry_vectors: FloatArray | None = None,
        context_cache: int = 1024,
    ) -> None:
        """``entry_vectors`` (rows in :attr:`entry_texts` order) lets callers reuse vectors
        persisted in Chroma instead of re-embedding ~25k labels (~30 s) at start-up."""
        if not concepts:
            raise ValueError("a skill normaliser needs at least one concept")
        self.embedder = embedder
        self.profile = profile
        self.alone_profile = alone_profile
        self.concepts = list(concepts)
        texts, kinds, owners = [], [], []
        for i, concept in enumerate(self.concepts):
            for kind, text in concept.labels():
                texts.append(text)
                kinds.append(kind)
                owners.append(i)
        self.entry_texts = texts
        self.entry_kinds = kinds
        self._owners = np.asarray(owners, dtype=np.int64)
        self._starts = np.flatnonzero(np.r_[True, self._owners[1:] != self._owners[:-1]])
        if entry_vectors is None:
            entry_vectors = embedder.embed(texts)
        if entry_vectors.shape != (len(texts), embedder.dimension):
            raise ValueError(
                f"entry_vectors has shape {entry_vectors.shape}, "
                f"expected {(len(texts), embedder.dimension)}"
            )
        self._vectors = np.ascontiguousarray(entry_vectors, dtype=np.float32)
        self._lexical = LexicalIndex([t.lower() for t in texts])
        self._context_cache: OrderedDict[str, FloatArray] = OrderedDict()
        self._context_cache_size = context_cache
        self._cache_lock = threading.Lock()
        logger.info("skill normaliser: %d concepts, %d entries", len(self.concepts), len(texts))

    @classmethod
    def from_index(
        cls,
        concepts: Sequence[SkillConcept],
        index: SkillsIndex,
        embedder: OfflineMiniLM,
        progress: Progress | None = None,
        **options: Any,
    ) -> SkillNormaliser:
        """Start from vectors persisted in Chroma; the index is synced first (only changed
        entries are embedded, reported to ``progress``) so it cannot be stale."""
        index.sync(concepts, progress=progress)
        return cls(concepts, embedder, entry_vectors=index.entry_vectors(concepts), **options)

    def __len__(self) -> int:
        return len(self.concepts)

    @property
    def entry_matrix(self) -> FloatArray:
        """Entry vectors in :attr:`entry_texts` order (read-only view), e.g. for baselines."""
        view = self._vectors.view()
        view.flags.writeable = False
        return view

    def clear_context_cache(self) -> None:
        with self._cache_lock:
            self._context_cache.clear()

    def _context_vectors(self, contexts: Sequence[str]) -> dict[str, FloatArray]:
        """Sentence vectors through a small LRU: the mentions of one job ad share a
        sentence, and a sentence costs more to embed than all its short mentions."""
        found: dict[str, FloatArray] = {}
        with self._cache_lock:
            for key in contexts:
                vector = self._context_cache.get(key)
                if vector is not None:
                    self._context_cache.move_to_end(key)
                    found[key] = vector
        missing = [key for key in dict.fromkeys(contexts) if key not in found]
        if missing:
            fresh = self.embedder.embed(missing)
            with self._cache_lock:
                for key, vector in zip(missing, fresh, strict=True):
                    found[key] = vector
                    if self._context_cache_size:
                        self._context_cache[key] = vector
                while len(self._context_cache) > self._context_cache_size:
                    self._context_cache.popitem(last=False)
        return found

    def encode(
        self, texts: Sequence[str], contexts: Sequence[str | None] | None = None
    ) -> list[EncodedMention]:
        """Mentions and contexts are embedded in separate calls: batched together, every
        short mention would be padded to the length of the longest sentence. The model is
        uncased, so a normalised form equal to the cleaned one costs nothing extra."""
        if contexts is None:
            contexts = [None] * len(texts)
        if len(contexts) != len(texts):
            raise ValueError("contexts must be as long as texts")
        cleaned = [clean_mention(t) for t in texts]
        normalised = [normalise_mention(t) for t in texts]
        keys = list(dict.fromkeys(_key(t) for t in [*cleaned, *normalised] if t))
        mention_vectors = dict(zip(keys, self.embedder.embed(keys), strict=True)) if keys else {}
        context_keys = [_key(c) for c in contexts if c and c.strip()]
        context_vectors = self._context_vectors(context_keys) if context_keys else {}
        encoded = []
        for text, clean, norm, context in zip(texts, cleaned, normalised, contexts, strict=True):
            if not clean:
                vector = np.zeros(self.embedder.dimension, dtype=np.float32)
                raw_vector = vector
            else:
                vector = mention_vectors[_key(norm)]
                raw_vector = mention_vectors[_key(clean)]
            context_vector = context_vectors.get(_key(context)) if context else None
            encoded.append(
                EncodedMention(
                    text=text,
                    cleaned=clean,
                    normalised=norm,
                    vector=vector,
                    raw_vector=raw_vector,
                    context_vector=vector if context_vector is None else context_vector,
                    has_context=context_vector is not None,
                )
            )
        return encoded

    def _concept_max(self, scores: FloatArray) -> tuple[FloatArray, IntArray]:
        """Best entry score per concept and which entry achieved it."""
        best = np.maximum.reduceat(scores, self._starts).astype(np.float32)
        idx = np.flatnonzero(scores >= best[self._owners])
        _, first = np.unique(self._owners[idx], return_index=True)
        return best, idx[first].astype(np.int64)

    def components_many(
        self, mentions: Sequence[EncodedMention]
    ) -> list[tuple[FloatArray, IntArray]]:
        """Per-concept score of each component (rows in COMPONENTS order) and the entry that
        gave it, per mention. One pass over the entry matrix per batch: at ~38 MB it is
        memory-bound, so scoring 3 query vectors or 192 costs about the same."""
        if not mentions:
            return []
        queries = np.stack(
            [v for m in mentions for v in (m.vector, m.raw_vector, m.context_vector)]
        )
        dense = np.ascontiguousarray((self._vectors @ queries.T).T)
        results = []
        n = len(self.concepts)
        for i, mention in enumerate(mentions):
            out = np.zeros((len(COMPONENTS), n), dtype=np.float32)
            where = np.zeros((len(COMPONENTS), n), dtype=np.int64)
            out[0], where[0] = self._concept_max(dense[3 * i])
            out[1], where[1] = self._concept_max(dense[3 * i + 1])
            out[2], where[2] = self._concept_max(self._lexical.query(mention.normalised))
            out[3], where[3] = self._concept_max(dense[3 * i + 2])
            results.append((out, where))
        return results

    def components(self, mention: EncodedMention) -> tuple[FloatArray, IntArray]:
        return self.components_many([mention])[0]

    def profile_for(self, mention: EncodedMention) -> Profile:
        return self.profile if mention.has_context else self.alone_profile

    def fuse(self, comps: FloatArray, mention: EncodedMention) -> tuple[FloatArray, float]:
        """Fused score per concept and the calibrated confidence of the best one."""
        profile = self.profile_for(mention)
        fused = profile.weights.as_array() @ comps
        features = confidence_features(fused, comps, mention.words)
        return fused, profile.calibration.confidence(features)

    def normalise(self, text: str, *, context: str | None = None, k: int = 5) -> SkillMatch:
        return self.normalise_many([text], contexts=[context], k=k)[0]

    def normalise_many(
        self,
        texts: Sequence[str],
        *,
        contexts: Sequence[str | None] | None = None,
        k: int = 5,
    ) -> list[SkillMatch]:
        """Batch form: one embedding call and one pass over the label matrix per chunk."""
        if isinstance(texts, str):
            raise TypeError("normalise_many() takes a sequence of strings, not a single string")
        if k < 1:
            raise ValueError("k must be at least 1")
        if contexts is not None and len(contexts) != len(texts):
            raise ValueError("contexts must be as long as texts")
        results = []
        for start in range(0, len(texts), EMBED_BATCH):
            chunk = texts[start : start + EMBED_BATCH]
            chunk_contexts = None if contexts is None else contexts[start : start + EMBED_BATCH]
            mentions = self.encode(chunk, chunk_contexts)
            scorable = [m for m in mentions if m.cleaned]
            scored = iter(self.components_many(scorable))
            for mention in mentions:
                if not mention.cleaned:
                    results.append(
                        SkillMatch(mention.text, mention.normalised, [], 0.0, abstained=True)
                    )
                    continue
                comps, where = next(scored)
                results.append(self._match(mention, comps, where, k))
        return results

    def _match(
        self, mention: EncodedMention, comps: FloatArray, where: IntArray, k: int
    ) -> SkillMatch:
        fused, confidence = self.fuse(comps, mention)
        k = min(k, len(fused))
        top = np.argpartition(-fused, k - 1)[:k] if k < len(fused) else np.arange(len(fused))
        top = top[np.lexsort((top, -fused[top]))]
        return SkillMatch(
            text=mention.text,
            normalised=mention.normalised,
            candidates=[self._candidate(int(c), fused, comps, where) for c in top],
            confidence=confidence,
            abstained=confidence < self.profile_for(mention).calibration.abstain_below,
        )

    def _candidate(
        self, concept: int, fused: FloatArray, comps: FloatArray, where: IntArray
    ) -> SkillCandidate:
        evidence: dict[str, str | float] = {
            name: round(float(comps[c, concept]), 4) for c, name in enumerate(COMPONENTS)
        }
        entry = int(where[int(np.argmax(comps[:3, concept])), concept])
        evidence["matched"] = self.entry_texts[entry]
        evidence["matched_kind"] = self.entry_kinds[entry]
        item = self.concepts[concept]
        return SkillCandidate(item.concept_id, item.label, float(fused[concept]), evidence)


def _key(text: str) -> str:
    """Embedding cache key: the model is uncased and ignores whitespace runs."""
    return " ".join(text.lower().split())
