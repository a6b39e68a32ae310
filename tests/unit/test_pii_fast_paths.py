"""The scrubbing shortcuts (pre-checks, NER skipped for plain fields, the lean context
enhancer, the digest cache, single-threaded OpenBLAS) must change what is found by nothing:
each is checked here against the slow path it replaces."""

from __future__ import annotations

import copy
import re
from typing import Any, cast

import pytest
import regex  # type: ignore[import-untyped]  # Presidio's regex engine
from presidio_analyzer import AnalyzerEngine, PatternRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

from pii import blas
from pii.analyzer import CONTEXT_WORDS_AFTER, CONTEXT_WORDS_BEFORE, get_analyzer
from pii.firewall import _contains_word
from pii.identity import RecordIdentity, normalise
from pii.placeholders import PlaceholderMap
from pii.recognizers.addresses import _NUM, _STREET_SUFFIXES, _WORD, DEFAULT_ADDRESS_PATTERNS
from pii.recognizers.phones import HRPhoneRecognizer, phone_recognizers
from pii.recognizers.prechecked import CASE_SENSITIVE
from pii.recognizers.spacy_ner import spacy_people_all_dropped
from pii.scrubber import Scrubber
from tests.factories import make_employee

TEXTS = [
    "Senior Account Executive",
    "Operations",
    "Berlin",
    "Manager Anna Schmidt approved the transfer of Jonas Weber (employee E20011).",
    "Call +44 20 7946 0958 or (555) 867-5309 if Priya is late; badge #E734211.",
    "Home address: Ziegelgasse 19, 8010 Graz; card 4111 1111 1111 1111, SSN 536-22-1987.",
    "Write to jo.bloggs@example.org from 10.0.0.12; IBAN GB82WEST12345698765432.",
    "He was born on 12/03/1985 in Leeds; she lives at 221B Baker St, Apt 4B.",
    "Mr. O'Brien and Dr Ingrid K. Solberg met at the corner of Elm Street and Oak Ave.",
    "33 avenue de Provence, rue La Boétie; Hauptstr. 5; STRAẞE 7; hegyalja út 98",
    "Promoted to Customer Success Manager in the Lisbon office.",
    "Skills: Office 365, Python 3; sent from the office at Kuusiku 7 to Home Office 2.",
    "",
]


@pytest.fixture(scope="module")
def analyzer() -> AnalyzerEngine:
    return get_analyzer()


def _key(results: list[RecognizerResult]) -> list[tuple[str, int, int, float]]:
    return sorted((r.entity_type, r.start, r.end, round(r.score, 6)) for r in results)


def test_pre_checked_recognizers_find_what_presidio_finds(analyzer: AnalyzerEngine) -> None:
    """Pre-checks and the lean pattern loop against Presidio's own loop, text by text."""
    checked = 0
    for recognizer in analyzer.registry.recognizers:
        if not isinstance(recognizer, PatternRecognizer) or not hasattr(recognizer, "may_match"):
            continue
        for text in TEXTS:
            fast = cast(Any, recognizer).analyze(text, [], None)
            slow = PatternRecognizer.analyze(recognizer, text, [], None)
            if type(recognizer).__name__ == "HRIbanRecognizer":
                slow = super(type(recognizer), cast(Any, recognizer)).analyze(text, [], None)
            assert _key(fast) == _key(slow), (type(recognizer).__name__, text)
            checked += 1
    assert checked > 50


def test_street_suffix_pattern_matches_as_the_backtracking_one() -> None:
    old = regex.compile(
        rf"(?<!\w)(?:\d{{3,6}}\s+)?(?:{_WORD}\s+){{0,2}}\p{{L}}*(?i:{_STREET_SUFFIXES})"
        rf"\s+{_NUM}(?!\w)",
        CASE_SENSITIVE,
    )
    new = next(p for p in DEFAULT_ADDRESS_PATTERNS if p.name == "suffix_name_number")
    compiled = regex.compile(new.regex, CASE_SENSITIVE)
    samples = [
        *TEXTS,
        "Magasinsgatan 7, Dašická 688, Kuusikatu 3 B, Hauptstr. 5a and Weg. 5",
        "during 2025 we were hiring 3 people in Ringstraße 12",
        "ZIEGELGASSE 19 / ziegelgasse 19 / Am Ring 3 / Storgatan 10",
    ]
    for text in samples:
        assert [m.span() for m in compiled.finditer(text)] == [
            m.span() for m in old.finditer(text)
        ], text


def _phone() -> HRPhoneRecognizer:
    return cast(HRPhoneRecognizer, phone_recognizers()[0])


@pytest.mark.parametrize(
    "text", ["(employee E20417)", "badge E20417 reissued", "ref 20417b", "E20417) and"]
)
def test_ids_glued_to_letters_are_never_phones(text: str) -> None:
    assert _phone().analyze(text, [], None) == []


def test_phone_found_after_a_skipped_id() -> None:
    text = "Badge E20417; call 020 7946 0958."
    spans = [text[r.start : r.end] for r in _phone().analyze(text, [], None)]
    assert spans == ["020 7946 0958"]


@pytest.mark.parametrize(
    "text", ["Senior Account Executive", "Operations", "RN Night Shift Float", "Sales"]
)
def test_plain_fields_skip_ner(text: str) -> None:
    assert spacy_people_all_dropped(text)


@pytest.mark.parametrize(
    "text", ["Assistant to Priya Patel", "Berlin", "Team Kowalczyk", "Gyarmathy"]
)
def test_fields_that_may_hold_a_person_keep_ner(text: str) -> None:
    assert not spacy_people_all_dropped(text)


def test_skipping_ner_changes_no_finding(analyzer: AnalyzerEngine) -> None:
    scrubber = Scrubber(analyzer)
    for text in TEXTS:
        if not spacy_people_all_dropped(text):
            continue
        full = analyzer.analyze(text, language="en", score_threshold=0.4)
        kept = [r for r in full if r.entity_type not in ("LOCATION", "DATE_TIME")]
        assert [(f.entity_type, f.start, f.end) for f in scrubber.find(text)] == sorted(
            (r.entity_type, r.start, r.end) for r in kept
        )


class _OutsideContextEnhancer(LemmaContextAwareEnhancer):
    """Presidio's enhancer with one rule changed, written the slow, plain way: the walk
    around the match is Presidio's, but words of tokens overlapping the match are not
    collected (Presidio's walk starts on the match's own first token, so "Office" was the
    context of "Office 365")."""

    def _extract_surrounding_words(self, nlp_artifacts: Any, word: str, start: int) -> list[str]:
        tokens, starts = nlp_artifacts.tokens, nlp_artifacts.tokens_indices
        index = self._find_index_of_match_token(word, start, tokens, starts)
        found: set[str] = set()
        for step, count in ((-1, self.context_prefix_count), (1, self.context_suffix_count)):
            remaining, position = count + 1, index
            while 0 <= position < len(tokens) and remaining > 0:
                lemma = nlp_artifacts.lemmas[position].lower()
                if lemma in nlp_artifacts.keywords:
                    overlaps = starts[position] < start + len(word) and (
                        starts[position] + len(tokens[position]) > start
                    )
                    if not overlaps:
                        found.add(lemma)
                    remaining -= 1
                position += step
        return list(found)


def test_lean_context_enhancer_boosts_as_presidios(analyzer: AnalyzerEngine) -> None:
    presidio = _OutsideContextEnhancer(
        context_prefix_count=CONTEXT_WORDS_BEFORE,
        context_suffix_count=CONTEXT_WORDS_AFTER,
        context_matching_mode="whole_word",
    )
    recognizers = list(analyzer.registry.recognizers)
    for text in TEXTS:
        if not text:
            continue
        artifacts = analyzer.nlp_engine.process_text(text, "en")
        raw: list[RecognizerResult] = []
        for recognizer in recognizers:
            for result in recognizer.analyze(text, [], artifacts):
                result.recognition_metadata = result.recognition_metadata or {}
                result.recognition_metadata.setdefault(
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY, recognizer.id
                )
                raw.append(result)
        expected = presidio.enhance_using_context(text, copy.deepcopy(raw), artifacts, recognizers)
        before = _key(raw)
        enhanced = analyzer.context_aware_enhancer.enhance_using_context(
            text, raw, artifacts, recognizers
        )
        assert _key(enhanced) == _key(expected), text
        assert _key(raw) == before  # the inputs are left alone


def test_cache_holds_no_text(analyzer: AnalyzerEngine) -> None:
    scrubber = Scrubber(analyzer)
    identity = RecordIdentity.from_employee(make_employee(given_name="Kiri", family_name="Tane"))
    text = "Ping kiri.tane@acme.example about Tane's badge."
    first = scrubber.scrub(text, identity=identity, placeholders=PlaceholderMap())
    second = scrubber.scrub(text, identity=identity, placeholders=PlaceholderMap())
    assert first == second
    stored = repr(scrubber._cache._items)
    assert "Tane" not in stored and "kiri" not in stored.lower()
    assert all(isinstance(key, bytes) for key in scrubber._cache._items)


def test_blas_pin_is_restored_and_changes_no_entity(analyzer: AnalyzerEngine) -> None:
    controls = blas._controls()
    if controls is None:
        pytest.skip("no OpenBLAS in this numpy")
    _, getter = controls
    before = getter()
    with blas.single_threaded():
        assert getter() == 1
        with blas.single_threaded():
            assert getter() == 1
        assert getter() == 1
    assert getter() == before
    text = "Manager Anna Schmidt met Jonas Weber in Berlin on 3 March."
    entities = analyzer.nlp_engine.process_text(text, "en").entities
    assert {(e.text, e.label_) for e in entities} >= {("Anna Schmidt", "PERSON")}
    assert getter() == before


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("ask zoe", "zoe"),
        ("zoe_x", "zoe"),
        ("zoe2", "zoe"),
        ("a zoe.b", "zoe"),
        ("zoé zoe", "zoe"),
        ("xzoe zoe", "zoe"),
        ("", "zoe"),
        ("mail zoe.m@acme", "zoe.m@acme"),
    ],
)
def test_firewall_word_search_matches_the_regex(text: str, value: str) -> None:
    searchable = normalise(text)
    expected = re.search(rf"(?<![\w]){re.escape(value)}(?![\w])", searchable) is not None
    assert _contains_word(searchable, value) is expected


RECORD_NOTE = "Manager Anna Schmidt approved the transfer of Jonas Weber; it will start soon."


def _spans(text: str, *values: str) -> list[tuple[int, int]]:
    return [(text.index(value), text.index(value) + len(value)) for value in values]


def test_a_note_naming_only_the_records_people_skips_ner() -> None:
    covered = _spans(RECORD_NOTE, "Anna Schmidt", "Jonas Weber")
    assert not spacy_people_all_dropped(RECORD_NOTE)
    assert spacy_people_all_dropped(RECORD_NOTE, covered)


@pytest.mark.parametrize(
    "text",
    [
        "Jonas Weber will mentor Ingrid Solberg.",  # a third person
        "Jonas Weber: Will starts on Monday.",  # a capitalised given name
        "Jonas Weber met Ravelling.",  # a verb form mid-sentence may be a family name
        "Jonas Weber moved to Darmstadt.",  # an unknown word: NER decides
    ],
)
def test_anyone_else_named_keeps_ner(text: str) -> None:
    assert not spacy_people_all_dropped(text, _spans(text, "Jonas Weber"))


@pytest.mark.parametrize(
    "text",
    [
        "the transfer was approved and will start soon",  # lower-case names: ordinary words
        "Promoted to team lead. Reissued the badge.",  # verb forms opening a sentence
        "write to zq.vx@example.org about it",  # an email is replaced whole
    ],
)
def test_ordinary_words_and_email_addresses_need_no_ner(text: str) -> None:
    assert spacy_people_all_dropped(text)


def _no_ner(monkeypatch: pytest.MonkeyPatch, analyzer: AnalyzerEngine) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("NER ran")

    monkeypatch.setattr(analyzer.nlp_engine, "process_text", refuse)
    monkeypatch.setattr(analyzer.nlp_engine, "process_batch", refuse)
    monkeypatch.setattr(analyzer.nlp_engine, "ner_docs", refuse)


def test_record_names_found_without_ner_as_with_it(
    analyzer: AnalyzerEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    identity = RecordIdentity.from_employee(
        make_employee(given_name="Jonas", family_name="Weber"), manager_names=["Anna Schmidt"]
    )
    full = Scrubber(analyzer).find(
        RECORD_NOTE,
        identity=identity,
        nlp_artifacts=analyzer.nlp_engine.process_text(RECORD_NOTE, "en"),
    )
    _no_ner(monkeypatch, analyzer)
    scrubber = Scrubber(analyzer)
    assert scrubber.find(RECORD_NOTE, identity=identity) == full
    assert [RECORD_NOTE[f.start : f.end] for f in full] == ["Anna Schmidt", "Jonas Weber"]
    # skipped for this record's sake only: another record's run must not reuse it
    assert not scrubber._cache._items


def test_prepared_texts_scrub_as_before_without_running_ner(
    analyzer: AnalyzerEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_note = " ".join([TEXTS[3]] * 6)  # past the length normally cached
    texts = [*(t for t in TEXTS if t), long_note]
    identity = RecordIdentity.from_employee(make_employee(given_name="Priya"))
    expected = [
        Scrubber(analyzer).scrub(t, identity=identity, placeholders=PlaceholderMap()) for t in texts
    ]
    scrubber = Scrubber(analyzer)
    assert any((plan := scrubber._plan(t)) and plan.needs_ner for t in texts)
    assert scrubber.prepare([(texts, None)]) == len(set(texts))
    _no_ner(monkeypatch, analyzer)
    assert scrubber.prepare([(texts, None)]) == 0
    assert [
        scrubber.scrub(t, identity=identity, placeholders=PlaceholderMap()) for t in texts
    ] == expected


def test_a_record_prepared_with_its_own_names_is_its_own(
    analyzer: AnalyzerEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NER reads only the first sentence for Jonas's run (the second names only his own
    people); that analysis is kept for his run and never served to anyone else's."""
    text = "Jonas Weber moved to Darmstadt. Manager Anna Schmidt approved the transfer."
    jonas = RecordIdentity.from_employee(
        make_employee(given_name="Jonas", family_name="Weber"), manager_names=["Anna Schmidt"]
    )
    other = RecordIdentity.from_employee(make_employee(given_name="Priya"))
    expected = Scrubber(analyzer).scrub(text, identity=jonas, placeholders=PlaceholderMap())
    scrubber = Scrubber(analyzer)
    assert scrubber.prepare([([text], jonas)]) == 1
    assert not scrubber._cache._items  # nothing shared
    _no_ner(monkeypatch, analyzer)
    assert scrubber.scrub(text, identity=jonas, placeholders=PlaceholderMap()) == expected
    with pytest.raises(AssertionError, match="NER ran"):
        scrubber.scrub(text, identity=other, placeholders=PlaceholderMap())
