"""Character n-gram TF-IDF over short texts, with an inverted index in plain numpy.

Why not scikit-learn: it would add scipy and ~100 MB for one vectoriser; titles are a few
dozen n-grams each, so a dict of postings arrays scores 30k labels in about a millisecond.
Character n-grams forgive typos, plurals and word splits ("accounts" vs "account",
"frontend" vs "front end") that an embedding of rare words does not.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

DEFAULT_NGRAMS: tuple[int, ...] = (3, 4)


def features(text: str, ngrams: tuple[int, ...] = DEFAULT_NGRAMS) -> Counter[str]:
    """Word-boundary-padded character n-grams plus whole words (exact words weigh more)."""
    padded = f" {' '.join(text.split())} "
    counts: Counter[str] = Counter()
    for n in ngrams:
        counts.update(padded[i : i + n] for i in range(max(len(padded) - n + 1, 0)))
    counts.update(f"w:{word}" for word in text.split())
    return counts


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
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for row, doc in enumerate(docs):
            weights = {g: (1.0 + math.log(c)) * self._idf[g] for g, c in doc.items()}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for gram, weight in weights.items():
                ids, values = postings.setdefault(gram, ([], []))
                ids.append(row)
                values.append(weight / norm)
        self._postings: dict[str, tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]] = {
            g: (np.asarray(i, dtype=np.int32), np.asarray(v, dtype=np.float32))
            for g, (i, v) in postings.items()
        }

    def query(self, text: str) -> npt.NDArray[np.float32]:
        """Scores for every indexed text; unseen n-grams still count in the query's norm,
        so a title made mostly of unknown words cannot look like a perfect match."""
        scores = np.zeros(self.size, dtype=np.float32)
        counts = features(text, self.ngrams)
        max_idf = math.log(1 + self.size) + 1.0
        weights = {g: (1.0 + math.log(c)) * self._idf.get(g, max_idf) for g, c in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        for gram, weight in weights.items():
            posting = self._postings.get(gram)
            if posting is not None:
                scores[posting[0]] += np.float32(weight / norm) * posting[1]
        return scores
