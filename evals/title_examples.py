"""The JobBERT title data and the ESCO label vectors the ranker is scored against.

Shared by the titles suite (`evals.suites.titles`), the fitting script
(`evals.fitting.titles`) and the title bench: all three read vacancy titles with their gold
ESCO concept (``vacancyTitle,conceptUri``) and embed the same catalog labels.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from evals.embedding_cache import cached_embeddings
from evals.reference_data import SHARED_DATA
from vectorstore.embeddings import OfflineMiniLM
from vectorstore.roles import CatalogRole

DEFAULT_TITLES = SHARED_DATA / "jobbert" / "titles.dev.csv"
DEFAULT_CATALOG = SHARED_DATA / "esco" / "occupations_en.csv"

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Example:
    title: str
    role_id: str


def load_examples(path: Path) -> list[Example]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [Example(r["vacancyTitle"].strip(), r["conceptUri"]) for r in csv.DictReader(handle)]


def label_vectors(roles: Sequence[CatalogRole], embedder: OfflineMiniLM) -> FloatArray:
    """Embedding ~33k labels takes ~45 s; cache them keyed by model and catalog content."""
    raw = [label for role in roles for _, label in role.labels()]
    return cached_embeddings(raw, embedder, name="esco-labels")
