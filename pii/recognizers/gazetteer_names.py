"""Names beyond what NER knows: runs of name-like words around known given or family names."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from pii.identity import normalise
from pii.names import english_words, is_english_word, load_gazetteer, looks_like_surname
from pii.recognizers.entities import PERSON
from pii.recognizers.results import explained_result
from pii.recognizers.spacy_ner import JOB_TITLE_WORDS

PERSON_CONTEXT: tuple[str, ...] = (
    "name", "named", "call", "called", "mr", "mrs", "ms", "dr", "said", "say", "speak",
    "meet", "manager", "colleague", "founder", "assistant", "employee", "contact", "reach",
    "ask", "tell", "email", "follow", "partner", "hire", "report", "mentor", "star", "direct",
)  # fmt: skip

_WORD_RE = re.compile(r"[^\W\d_]+(?:['\u2019\-][^\W\d_]+)*\.?")
_APOSTROPHES = "'\u2019"
_POSSESSIVE_S = "sS\u017f"  # what "s" matches case-insensitively, long s included
_PART_SEPARATORS = re.compile(r"['\u2019\-]")
_MAX_NAME_WORDS = 4

COMPANY_WORDS: frozenset[str] = frozenset(
    """
    inc llc ltd plc gmbh ag sa sas bv nv corp corporation company co group holdings
    partners associates agency orchestra foundation bank lines sons incorporated
    """.split()  # noqa: SIM905
)
"""Words that make the capitalised run before them an organisation ("Hall Orchestra")."""


@dataclass(slots=True)
class _Word:
    """One word of a run (a plain slotted class: made for every word of every text, and a
    frozen dataclass costs twice as much to build)."""

    start: int
    end: int
    text: str  # without a possessive "'s" or a trailing full stop
    folded: str  # `normalise(text)`
    given: bool
    family: bool
    initial: bool
    surname_like: bool
    capitalised: bool
    _ordinary: bool | None = None

    @property
    def known(self) -> bool:
        return self.given or self.family

    @property
    def ordinary(self) -> bool:
        """An ordinary English word; looked up on demand, since only capitalised words and
        known names are ever asked (most words of a note are neither)."""
        if self._ordinary is None:
            self._ordinary = not self.initial and is_english_word(self.text)
        return self._ordinary

    def name_like(self) -> bool:
        if self.initial or self.known or self.surname_like:
            return True
        # an unknown capitalised word that is no English word ("Gyarmathy", "Pyysalo"),
        # and no acronym ("IBAN", "VIC")
        return self.capitalised and not self.ordinary and not _is_acronym(self.text)


class GazetteerNameRecognizer(LocalRecognizer):
    """Runs of name-like words around known given or family names (see `pii.names`).

    A known given name followed by a known family name is a person with good confidence,
    and so is a known given name (or an initial-bearing run) followed by an unknown
    capitalised word that is no English word ("Layla Gairbekov", "Faina D. Yefremova"). A
    lone known given name that is no English word ("Sofie") passes; one that is ("Grace",
    "May") or a lone family name ("Hall") is only a hint and needs a context word.
    """

    name: str  # set by Presidio; declared for the type checker

    FULL_NAME_SCORE = 0.7
    PARTIAL_NAME_SCORE = 0.6
    WEAK_PAIR_SCORE = 0.5
    RARE_GIVEN_NAME_SCORE = 0.45
    GIVEN_NAME_SCORE = 0.35
    FAMILY_NAME_SCORE = 0.25

    def __init__(self) -> None:
        self._names = load_gazetteer()
        english_words()  # load now, not on the first text
        super().__init__(
            supported_entities=[PERSON],
            name="GazetteerNameRecognizer",
            context=list(PERSON_CONTEXT),
        )

    def load(self) -> None:
        """The gazetteer is loaded (and cached) in `__init__`."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        for run in _word_runs(text):
            words = [self._word(text, start, end) for start, end in run]
            for segment in _name_segments(words):
                score = self._score(segment, text)
                if score <= 0:
                    continue
                results.append(
                    explained_result(
                        self,
                        PERSON,
                        segment[0].start,
                        segment[-1].end,
                        score,
                        "known given/family name",
                    )
                )
        return results

    def _word(self, text: str, start: int, end: int) -> _Word:
        raw = text[start:end]
        if len(raw) > 2 and raw[-2] in _APOSTROPHES and raw[-1] in _POSSESSIVE_S:
            end -= 2
            raw = raw[:-2]
        initial = len(raw.rstrip(".")) == 1
        if raw.endswith(".") and not initial:  # a sentence full stop, not an initial
            end -= 1
            raw = raw[:-1]
        bare = raw.rstrip(".")
        folded = normalise(bare)
        stop = folded in _stop_words()
        given = not stop and folded in self._names.given
        family = not stop and folded in self._names.family
        if not (given and family) and ("-" in bare or "'" in bare or "\u2019" in bare):
            # "Anne-Marie", "O'Neil": a name if every part is a given name, or any a family name
            parts = [normalise(part) for part in _PART_SEPARATORS.split(bare) if part]
            if len(parts) > 1:
                given = given or all(p in self._names.given for p in parts)
                family = family or any(p in self._names.family for p in parts)
        return _Word(
            start=start,
            end=end,
            text=bare,
            folded=folded,
            given=given,
            family=family,
            initial=initial,
            surname_like=not initial and looks_like_surname(bare),
            capitalised=text[start].isupper(),
        )

    def _score(self, words: Sequence[_Word], text: str) -> float:
        first, last = words[0], words[-1]
        if len(words) == 1:
            if not first.capitalised or first.initial:
                return 0.0
            if _is_acronym(first.text) and not text.isupper():
                return 0.0  # "IBAN", "VIC" in ordinary text
            if first.given:
                return self.GIVEN_NAME_SCORE if first.ordinary else self.RARE_GIVEN_NAME_SCORE
            return self.FAMILY_NAME_SCORE if first.known or first.surname_like else 0.0
        if all(word.initial for word in words):
            return 0.0
        inner_initial = any(word.initial for word in words[1:-1])
        last_is_surname = last.family or last.given or last.surname_like
        if first.given or first.initial:
            if first.given and last.family:
                return self.FULL_NAME_SCORE
            if last.initial:
                return 0.0
            if first.capitalised and (last_is_surname or (last.capitalised and not last.ordinary)):
                if first.given and last_is_surname:
                    return self.FULL_NAME_SCORE
                return self.PARTIAL_NAME_SCORE
            if not first.capitalised and first.given and (inner_initial or last.surname_like):
                return self.PARTIAL_NAME_SCORE  # "benjamin a seiler", "monika žilková"
            return 0.0
        if not first.capitalised or last.initial:
            return 0.0
        if inner_initial:
            return self.PARTIAL_NAME_SCORE  # "Szabina J Gelencsér"
        if last.surname_like or (first.known and last.known):
            return self.WEAK_PAIR_SCORE  # "Wisława Szczepańska"
        return 0.0


@functools.cache
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def _is_acronym(word: str) -> bool:
    return word.isupper() and len(word) <= 4


def _name_segments(words: Sequence[_Word]) -> list[list[_Word]]:
    """Maximal stretches of name-like words (at most four); a stretch right before a
    company word ("Davis Orchestra", "Shepherd Ltd") names the company, not a person."""
    segments: list[list[_Word]] = []
    current: list[_Word] = []
    for word in words:
        usable = word.name_like() and word.folded not in JOB_TITLE_WORDS
        if usable and len(current) < _MAX_NAME_WORDS:
            current.append(word)
            continue
        if current and word.folded not in COMPANY_WORDS:
            segments.append(current)
        current = [word] if usable else []
    if current:
        segments.append(current)
    return segments


def _word_runs(text: str) -> list[list[tuple[int, int]]]:
    """Runs of words on one line, split where the case changes or a sentence ends.

    A run is either all capitalised ("Faina D. Yefremova") or all lower case ("naomi ryan"),
    so "Reach Priya" stays apart from "at priya.patel".
    """
    runs: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    for match in _WORD_RE.finditer(text):
        start, end = match.span()
        if _glued_to_digit(text, start, end):
            # part of a code or product name ("S/4HANA", "Win10"), not a person's name
            if current:
                runs.append(current)
            current = []
            continue
        upper = text[start].isupper()
        if current:
            prev_start, prev_end = current[-1]
            gap = text[prev_end:start]
            joined = gap != "" and gap.strip(" \t") == ""  # spaces or tabs only
            same_case = text[prev_start].isupper() == upper
            if joined and same_case and not _ends_sentence(text, prev_start, prev_end):
                current.append((start, end))
                continue
            runs.append(current)
        current = [(start, end)]
    if current:
        runs.append(current)
    return runs


def _glued_to_digit(text: str, start: int, end: int) -> bool:
    return (start > 0 and text[start - 1].isdigit()) or (end < len(text) and text[end].isdigit())


def _ends_sentence(text: str, start: int, end: int) -> bool:
    """A word ending in "." ends the run unless it is an initial ("D.")."""
    return text[end - 1] == "." and end - start > 2
