"""Document vectors as the mean of their clauses' vectors.

A decision paragraph is a list of clauses ("Added to Engineering because department
Engineering; Berlin because location Berlin. Removed from Sales.") and the same clauses
recur across a workforce, while whole paragraphs rarely do: with each distinct clause
embedded once (through the embedding memo), a backlog of thousands of decisions costs a
few hundred model calls. The mean of sentence vectors is the classic document embedding,
and a question still meets the clause it is about: audit search also scores shared words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from vectorstore.embedder import Embedder
from vectorstore.embeddings import FloatMatrix

_BOUNDARY = re.compile(r"(?<=[.;])\s+")


def clauses(text: str) -> list[str]:
    """Split at sentence and semicolon boundaries (not inside "29-1141.00" or "Role: X")."""
    return [part for part in (p.strip() for p in _BOUNDARY.split(text)) if part] or [text]


def pooled_embeddings(embedder: Embedder, texts: Sequence[str]) -> FloatMatrix:
    """One L2-normalised vector per text: its clauses' vectors averaged, each clause weighted
    by its length, so a long clause counts for more than "Removed from Sales."."""
    split = [clauses(text) for text in texts]
    unique = list(dict.fromkeys(clause for parts in split for clause in parts))
    out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    if not unique:
        return out
    vectors = embedder.embed(unique)
    row_of = {clause: row for row, clause in enumerate(unique)}
    for row, parts in enumerate(split):
        weights = np.array([len(part) for part in parts], dtype=np.float32)
        mean = (vectors[[row_of[part] for part in parts]] * weights[:, None]).sum(axis=0)
        out[row] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return out
