"""Skill strings of an HRIS profile -> taxonomy concepts, as the provisioning graph uses it.

Rules first: a string that, cleaned, is exactly one concept's preferred or alternative label
("Python", "team work") needs no judgement and gets confidence 1. The offline normaliser
(:mod:`tools.skills.normaliser`) places the rest with a calibrated confidence, or abstains:
most free-text skills that have no concept still have a nearest label, and a suggestion more
likely wrong than right is not made. Only scrubbed strings arrive here (the model view).

Everything is built on the first profile that has skills, not at start-up: the taxonomy is
~14k concepts, and the normaliser embeds ~25k labels the first time (about 30 s; the Chroma
``skills`` index keeps them for the next start). A deployment whose HRIS sends no skills
never pays for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from core.settings import Settings
from tools.skills.normalise import clean_mention
from tools.skills.normaliser import SkillMatch, SkillNormaliser
from tools.skills.taxonomy import SkillConcept, bundled_labels_path, load_taxonomy
from vectorstore.client import chroma_client
from vectorstore.embeddings import MiniLMEmbeddingFunction, default_embedder
from vectorstore.progress import Progress
from vectorstore.skills_index import SkillsIndex

log = logging.getLogger(__name__)

SHOWN_CANDIDATES = 3
_AMBIGUOUS = -1


class SkillCandidateView(BaseModel):
    concept_id: str
    label: str
    score: float


class SkillDecision(BaseModel):
    """One profile skill: the concept it was placed on, or why not."""

    text: str = Field(description="The skill as the model view holds it (scrubbed).")
    concept_id: str | None = None
    label: str | None = None
    confidence: float = 0.0
    method: Literal["exact", "embedded", "abstained"]
    candidates: list[SkillCandidateView] = Field(default_factory=list)


def exact_key(text: str) -> str:
    return " ".join(clean_mention(text).lower().split())


class SkillMapping:
    """Exact labels, then the normaliser; both loaded once, on first use, thread-safe."""

    def __init__(
        self,
        load_concepts: Callable[[], list[SkillConcept]],
        build_normaliser: Callable[[list[SkillConcept], Progress | None], SkillNormaliser],
    ) -> None:
        self._load_concepts = load_concepts
        self._build_normaliser = build_normaliser
        self._lock = threading.Lock()
        self._concepts: list[SkillConcept] | None = None
        self._exact: dict[str, int] = {}
        self._normaliser: SkillNormaliser | None = None

    @property
    def normaliser_built(self) -> bool:
        return self._normaliser is not None

    def prepare(self, *, progress: Progress | None = None) -> int:
        """Load the taxonomy and build the normaliser now, so that the first profile with
        skills does not wait for it (``talentsync skills index``); the number of concepts.

        ``progress`` gets (embedded, to embed) while the skills index is built the first
        time; without it that is logged at intervals."""
        concepts = self._taxonomy()
        self._normaliser_for(concepts, progress)
        return len(concepts)

    def map(self, texts: Sequence[str]) -> list[SkillDecision]:
        concepts = self._taxonomy()
        decisions: list[SkillDecision | None] = []
        open_texts: list[str] = []
        for text in texts:
            index = self._exact.get(exact_key(text), _AMBIGUOUS)
            if index == _AMBIGUOUS:
                decisions.append(None)
                open_texts.append(text)
                continue
            concept = concepts[index]
            decisions.append(
                SkillDecision(
                    text=text,
                    concept_id=concept.concept_id,
                    label=concept.label,
                    confidence=1.0,
                    method="exact",
                )
            )
        placed = self._normaliser_for(concepts).normalise_many(open_texts) if open_texts else []
        matches = iter(placed)
        return [d if d is not None else _from_match(next(matches)) for d in decisions]

    def _taxonomy(self) -> list[SkillConcept]:
        with self._lock:
            if self._concepts is None:
                self._concepts = self._load_concepts()
                self._exact = _exact_labels(self._concepts)
            return self._concepts

    def _normaliser_for(
        self, concepts: list[SkillConcept], progress: Progress | None = None
    ) -> SkillNormaliser:
        with self._lock:
            if self._normaliser is None:
                self._normaliser = self._build_normaliser(concepts, progress)
            return self._normaliser


def _exact_labels(concepts: Sequence[SkillConcept]) -> dict[str, int]:
    """Label -> concept; a label two concepts share is left to the normaliser."""
    owners: dict[str, int] = {}
    for index, concept in enumerate(concepts):
        for _, label in concept.labels():
            key = exact_key(label)
            if key and owners.get(key, index) != index:
                owners[key] = _AMBIGUOUS
            elif key:
                owners[key] = index
    return {key: index for key, index in owners.items() if index != _AMBIGUOUS}


def _from_match(match: SkillMatch) -> SkillDecision:
    shown = [
        SkillCandidateView(concept_id=c.concept_id, label=c.label, score=round(c.score, 4))
        for c in match.candidates[:SHOWN_CANDIDATES]
    ]
    if match.abstained or not match.candidates:
        return SkillDecision(
            text=match.text,
            confidence=round(match.confidence, 4),
            method="abstained",
            candidates=shown,
        )
    top = match.candidates[0]
    return SkillDecision(
        text=match.text,
        concept_id=top.concept_id,
        label=top.label,
        confidence=round(match.confidence, 4),
        method="embedded",
        candidates=shown,
    )


def build_skill_mapping(settings: Settings) -> SkillMapping | None:
    """The configured skill mapping, or None when it is switched off.

    The normaliser always uses the bundled offline model: its shipped weights and
    calibration were fitted in that vector space (``python -m evals.fitting.skills``)."""
    if settings.skill_mapper == "off":
        return None
    labels = settings.skills_taxonomy_path or bundled_labels_path()

    def normaliser(concepts: list[SkillConcept], progress: Progress | None) -> SkillNormaliser:
        embedder = default_embedder()
        index = SkillsIndex(chroma_client(settings), MiniLMEmbeddingFunction(embedder))
        built = SkillNormaliser.from_index(concepts, index, embedder, progress=progress)
        log.info("skill normaliser ready: %d concepts", len(concepts))
        return built

    return SkillMapping(lambda: load_taxonomy(labels), normaliser)
