"""The Skill-Extraction benchmark rows and the ESCO skill entry vectors.

Shared by the skills suite (`evals.suites.skills`) and the fitting script
(`evals.fitting.skills`). Each row is a sentence, a span, sometimes a sub-span (one skill of
a coordinated span: "design execution and analysis of X" -> "execution of X"), and an ESCO
preferred label or ``LABEL NOT PRESENT`` / ``UNDERSPECIFIED``, meaning the right output is
"no confident match". The files have no licence for redistribution, so they are read from a
path and never packaged.
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
from tools.skills.taxonomy import SkillConcept
from vectorstore.embeddings import OfflineMiniLM

DEFAULT_DATA_DIR = SHARED_DATA / "skills"
DEFAULT_TAXONOMY = SHARED_DATA / "esco" / "skills_en_labels.txt"
NO_LABEL = frozenset({"LABEL NOT PRESENT", "UNDERSPECIFIED"})

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Example:
    sentence: str
    span: str
    sub_span: str
    label: str

    @property
    def mention(self) -> str:
        """The sub-span, when given, is the skill; the span then holds several."""
        return self.sub_span or self.span

    @property
    def has_label(self) -> bool:
        return self.label not in NO_LABEL


def load_examples(path: Path) -> list[Example]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Example(r["sentence"], r["span"], (r.get("sub_span") or "").strip(), r["label"].strip())
            for r in csv.DictReader(handle)
        ]


def entry_vectors(concepts: Sequence[SkillConcept], embedder: OfflineMiniLM) -> FloatArray:
    """Embedding ~25k labels takes ~30 s; cache them keyed by model and taxonomy content.
    (Services use the Chroma ``skills`` collection instead; see vectorstore/skills_index.)"""
    texts = [text for concept in concepts for _, text in concept.labels()]
    return cached_embeddings(texts, embedder, name="esco-skill-entries")
