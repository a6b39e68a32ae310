"""A second analyzer for the firewall: the pattern recognizers only, on a tokenizer-only
spaCy pipeline.

The firewall blocks only on entities found by patterns with formats or checksums, so the
NER model (most of the cost of a scan) would run for nothing. Lemmas are the lowercased
tokens (`LowercaseLemmaEngine`, no pipeline component writing them), which is all
Presidio's context words ("phone:", "badge", "ssn") need.
"""

from __future__ import annotations

import functools
import os

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import spacy
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

from pii.analyzer import LANGUAGE, HRAnalyzerEngine, HRContextEnhancer, LowercaseLemmaEngine
from pii.recognizers import default_recognizers


class _TokenizerOnlyEngine(LowercaseLemmaEngine):
    """Presidio's spaCy engine around `spacy.blank`: no model weights, no download."""

    def __init__(self) -> None:
        super().__init__(models=[{"lang_code": LANGUAGE, "model_name": "blank"}])

    def load(self) -> None:
        self.nlp = {LANGUAGE: spacy.blank(LANGUAGE)}  # type: ignore[assignment]  # Presidio annotates None


@functools.cache
def get_pattern_analyzer(entities: frozenset[str]) -> AnalyzerEngine:
    """The recognizers that can report ``entities``, and nothing that needs NER."""
    engine = _TokenizerOnlyEngine()
    engine.load()
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    for recognizer in default_recognizers():
        if (
            set(recognizer.supported_entities) & entities
            and "Spacy" not in type(recognizer).__name__
        ):
            registry.add_recognizer(recognizer)
    return HRAnalyzerEngine(
        registry=registry,
        nlp_engine=engine,
        supported_languages=[LANGUAGE],
        # Presidio's default window (five words before, none after), found faster
        context_aware_enhancer=HRContextEnhancer(),
    )
