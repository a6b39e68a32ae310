"""Lexical similarity over short texts, with inverted indexes in plain numpy.

Two views of the same words:

- :class:`LexicalIndex`: character n-gram TF-IDF cosine. N-grams forgive typos, plurals
  and word splits ("accounts" vs "account", "frontend" vs "front end") that an embedding of
  rare words does not.
- :class:`WordIndex`: word-level BM25 with IDF, over documents that may be long (all the
  labels of a role together, or its description). It answers "how much of the title's
  rare-word mass does this role's vocabulary contain", which a best-single-label score
  misses when the title combines words found in different labels of the same role.

Why not scikit-learn: it would add scipy and ~100 MB for one vectoriser. Postings are kept
as one CSR-like pair of arrays per index, so a query is a few slices, one concatenate and
one ``np.bincount`` whatever the number of n-grams: no per-posting Python work.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

DEFAULT_NGRAMS: tuple[int, ...] = (3, 4)

FloatArray = npt.NDArray[np.float32]
_WORD = re.compile(r"[a-z0-9+#]+")
_NO_STEM_ENDINGS = ("ss", "us", "is", "ics")


def features(text: str, ngrams: tuple[int, ...] = DEFAULT_NGRAMS) -> Counter[str]:
    """Word-boundary-padded character n-grams plus whole words (exact words weigh more)."""
    padded = f" {' '.join(text.split())} "
    counts: Counter[str] = Counter()
    for n in ngrams:
        counts.update(padded[i : i + n] for i in range(max(len(padded) - n + 1, 0)))
    counts.update(f"w:{word}" for word in text.split())
    return counts


def stem(word: str) -> str:
    """Plural folding only ("nurses" -> "nurse", "vacancies" -> "vacancy"): anything more
    aggressive merges role words that mean different jobs ("accounting" vs "account")."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(_NO_STEM_ENDINGS):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Lowercase, plural-folded word tokens."""
    return [stem(w) for w in _WORD.findall(text.lower())]


class _Postings:
    """term -> (row ids, values) stored as one CSR: ``indptr[t]:indptr[t+1]`` slices."""

    def __init__(self, rows: Sequence[dict[str, float]]) -> None:
        per_term: dict[str, tuple[list[int], list[float]]] = {}
        for row, weights in enumerate(rows):
            for term, value in weights.items():
                ids, values = per_term.setdefault(term, ([], []))
                ids.append(row)
                values.append(value)
        self.term_index = {term: i for i, term in enumerate(per_term)}
        lengths = [len(ids) for ids, _ in per_term.values()]
        self.indptr = np.zeros(len(per_term) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.indptr[1:])
        self.indices = np.fromiter(
            (i for ids, _ in per_term.values() for i in ids), dtype=np.int32, count=sum(lengths)
        )
        self.data = np.fromiter(
            (v for _, values in per_term.values() for v in values),
            dtype=np.float32,
            count=sum(lengths),
        )

    def dot(self, query: dict[str, float], size: int) -> FloatArray:
        """Sparse query . every row, as a dense score vector."""
        slices = [
            (self.indptr[t], self.indptr[t + 1], weight)
            for term, weight in query.items()
            if (t := self.term_index.get(term)) is not None
        ]
        if not slices:
            return np.zeros(size, dtype=np.float32)
        ids = np.concatenate([self.indices[a:b] for a, b, _ in slices])
        values = np.concatenate([self.data[a:b] * np.float32(w) for a, b, w in slices])
        return np.bincount(ids, weights=values, minlength=size).astype(np.float32)


class LexicalIndex:
    """Cosine similarity between L2-normalised sublinear TF-IDF vectors."""

    def __init__(self, texts: Sequence[str], ngrams: tuple[int, ...] = DEFAULT_NGRAMS) -> None:
        self.ngrams = ngrams
        self.size = len(texts)
        docs = [features(t, ngrams) for t in texts]
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(doc.keys())
        self._idf = {g: math.log((1 + self.size) / (1 + c)) + 1.0 for g, c in df.items()}
        rows = []
        for doc in docs:
            weights = {g: (1.0 + math.log(c)) * self._idf[g] for g, c in doc.items()}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            rows.append({g: w / norm for g, w in weights.items()})
        self._postings = _Postings(rows)

    def query_weights(self, text: str) -> dict[str, float]:
        """The query's normalised TF-IDF vector; unseen n-grams still count in the norm,
        so a title made mostly of unknown words cannot look like a perfect match."""
        counts = features(text, self.ngrams)
        max_idf = math.log(1 + self.size) + 1.0
        weights = {g: (1.0 + math.log(c)) * self._idf.get(g, max_idf) for g, c in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {g: w / norm for g, w in weights.items()}

    def query(self, text: str) -> FloatArray:
        """Scores for every indexed text."""
        return self._postings.dot(self.query_weights(text), self.size)


class WordIndex:
    """BM25 over word bags, scaled to [0, 1) by the query's own IDF mass.

    A score of 0.8 reads "the document contains (repeatedly) words carrying 80% of the
    query's IDF weight"; an unseen query word keeps the maximum IDF in the denominator, so
    a title of unknown words scores near 0 everywhere instead of matching its one known
    word perfectly."""

    def __init__(self, documents: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.5):
        self.size = len(documents)
        counts = [Counter(doc) for doc in documents]
        df: Counter[str] = Counter()
        for doc in counts:
            df.update(doc.keys())
        self._idf = {w: math.log(1.0 + (self.size - c + 0.5) / (c + 0.5)) for w, c in df.items()}
        self._max_idf = math.log(1.0 + (self.size + 0.5) / 0.5) if self.size else 1.0
        lengths = [sum(doc.values()) for doc in counts]
        average = (sum(lengths) / len(lengths)) if lengths else 1.0
        rows = []
        for doc, length in zip(counts, lengths, strict=True):
            norm = k1 * (1.0 - b + b * length / max(average, 1e-9))
            rows.append({w: tf / (tf + norm) for w, tf in doc.items()})
        self._postings = _Postings(rows)

    def idf(self, word: str) -> float:
        return self._idf.get(word, self._max_idf)

    def query(self, query_words: Sequence[str]) -> FloatArray:
        unique = list(dict.fromkeys(query_words))
        if not unique or self.size == 0:
            return np.zeros(self.size, dtype=np.float32)
        weights = {w: self.idf(w) for w in unique}
        total = sum(weights.values()) or 1.0
        return self._postings.dot({w: v / total for w, v in weights.items()}, self.size)
