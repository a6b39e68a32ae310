"""Reading a title, department, site or skill field as HR vocabulary first.

The recognizers were built for free text, where a capitalised word next to others may well
be a person. In a field that holds a job title, "Commis Baker", "Assistant Branch Manager",
"Housekeeping Attendant Snr" and the city "Austin" are a trade, a unit, a grade and a place;
scrubbing them blinds the ranker and protects nobody. So in these fields a PERSON finding
stands only on evidence (`HRFieldReader.vet`):

1. the record's own names (the deny-list): always kept, whatever this module thinks;
2. a person-shaped context: an honorific or a relation word before a known name ("PA to
   Mr Baker", "cover for Jackson", "(Baker's team)");
3. a known given name followed by a known family name ("Mason Baker"), unless the words
   sit inside a label of the vocabulary;
4. a word that is a known name (or looks like a family name) and that neither the HR
   vocabulary nor the gazetteer explains.

A PERSON span inside a multi-word HR label ("branch manager") or equal to a place
("Kuala Lumpur") is released, and so is a span of words that are no known name at all
("Kilang Plastik"): NER's guess is no evidence there. Other entity types are never
released: a phone number in a title is still a phone number.

A field whose every word the vocabulary explains is settled before any NER runs
(`HRFieldReader.settles`): a location made of places and site words ("Berlin Office",
"Remote - Germany", "Austin, TX"), a title made of label words and abbreviations. Only the
deny-list reads it then; that is also the throughput win (no NER for the common values).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from spacy.lang.en.stop_words import STOP_WORDS

from pii.findings import Finding
from pii.hr_vocabulary import (
    MAX_PHRASE_WORDS,
    SITE_WORDS,
    WORD,
    HRVocabulary,
    PlaceGazetteer,
    get_hr_vocabulary,
    get_places,
)
from pii.identity import normalise
from pii.names import NameGazetteer, load_gazetteer, looks_like_surname
from pii.recognizers.entities import PERSON

FieldKind = Literal["title", "department", "location", "skill"]
FIELD_KINDS: tuple[FieldKind, ...] = ("title", "department", "location", "skill")


HONORIFICS: frozenset[str] = frozenset(
    "mr mrs ms miss mx dr prof sir dame madam".split()  # noqa: SIM905
)
"""Right before a word, these make it a name whatever the vocabulary says ("Mr Baker")."""
_POSSESSIVE_CUE = re.compile(
    r"^['\u2019]s\s+(?:team|office|group|desk|unit|pa|assistant|reports|direct)\b", re.IGNORECASE
)
"""After a known name, these make it someone's ("(Baker's team)")."""
RELATION_CUES: frozenset[str] = frozenset(
    """
    to for cover covering replacing replace replaces backfill backfilling with under
    reports reporting via attn contact ask call named name
    """.split()  # noqa: SIM905
)
"""Right before a known name no HR label explains, these make it someone's: "cover for
Jackson" (a city too); "Order to Cash Manager" stays a process."""
_SEGMENT_BREAK = re.compile(r"[,;/|()\[\]\u2013\u2014]|\s-\s|\s-|-\s|:")
_NEEDS_ANALYSIS = re.compile(r"[\d@]")
"""Digits or an at-sign: what every pattern recognizer (phone, email, ids, street numbers)
needs. A field with one of them always goes through the analyzer."""


@dataclass(frozen=True, slots=True)
class _Word:
    start: int
    end: int
    folded: str
    raw: str


def _words(text: str) -> list[_Word]:
    return [_Word(m.start(), m.end(), normalise(m.group()), m.group()) for m in WORD.finditer(text)]


@dataclass(frozen=True)
class HRFieldReader:
    """How one kind of field is read; shared (stateless) across records and threads."""

    kind: FieldKind
    vocabulary: HRVocabulary
    places: PlaceGazetteer
    names: NameGazetteer

    # -- before the analyzer -------------------------------------------------------------------

    def settles(self, text: str) -> bool:
        """Whether the vocabulary accounts for the whole text, so no recognizer but the
        record's own deny-list needs to read it."""
        if _NEEDS_ANALYSIS.search(text):
            return False
        words = _words(text)
        if self.kind == "location":
            return all(self._is_site(segment) for segment in _SEGMENT_BREAK.split(text))
        if not all(self._explained(word, text) for word in words):
            return False
        if self._full_name(words, 0, len(words), text):
            return False
        return not any(self._cued(words, index, index + 1, text) for index in range(len(words)))

    def _is_site(self, segment: str) -> bool:
        """A place, optionally with site words around it ("Berlin Office", "Greater
        London Area"), a country or state code ("TX"), or site words alone ("Remote")."""
        words = _words(segment)
        core = [w.folded for w in words if w.folded not in SITE_WORDS]
        if not core:
            return True
        if len(words) == 1 and words[0].raw.isupper() and words[0].raw in self.places.codes:
            return True
        return self.places.is_place(core) or self.places.is_place([w.folded for w in words])

    # -- after the analyzer --------------------------------------------------------------------

    def vet(
        self, text: str, findings: Sequence[Finding], own: Sequence[tuple[int, int]]
    ) -> list[Finding]:
        """The findings that stand as personal data in this field (see the module doc)."""
        words: list[_Word] | None = None
        kept: list[Finding] = []
        for finding in findings:
            if finding.entity_type != PERSON or any(
                s < finding.end and finding.start < e for s, e in own
            ):
                kept.append(finding)
                continue
            words = words if words is not None else _words(text)
            kept.extend(self._people_in(finding, words, text))
        return kept

    def _people_in(self, finding: Finding, words: Sequence[_Word], text: str) -> list[Finding]:
        """The parts of a PERSON finding that stand: NER runs across a field's separators
        ("Sales Advisor - One Utama"), so each segment is judged on its own, and each
        without the HR words at its ends ("Project Lead - John Smith" keeps "Project Lead
        -" in view)."""
        pieces: list[Finding] = []
        cuts = [m.span() for m in _SEGMENT_BREAK.finditer(text, finding.start, finding.end)]
        bounds = [finding.start, *(b for cut in cuts for b in cut), finding.end]
        for start, end in zip(bounds[::2], bounds[1::2], strict=True):
            inside = [i for i, w in enumerate(words) if start <= w.start < end]
            if not inside:
                continue
            first, stop = self._core(words, inside[0], inside[-1] + 1, text)
            if self._is_person(words, first, stop, text):
                pieces.append(
                    Finding(
                        finding.entity_type,
                        words[first].start if first > inside[0] or start > finding.start else start,
                        words[stop - 1].end if stop <= inside[-1] or end < finding.end else end,
                        finding.score,
                    )
                )
        return pieces

    def _plain_hr_word(self, word: _Word, text: str) -> bool:
        return self._explained(word, text) and not self._namey(word, text)

    def _is_person(self, words: Sequence[_Word], first: int, stop: int, text: str) -> bool:
        """Evidence for a person in words[first:stop] (already trimmed to its core)."""
        span = words[first:stop]
        if self._cued(words, first, stop, text):
            return True
        if self._inside_label(words, first, stop):
            return False
        if self._full_name(words, first, stop, text):
            return True
        if self.places.is_place([w.folded for w in span]):
            return False
        return any(self._namey(w, text) and not self._explained(w, text) for w in span)

    def _core(self, words: Sequence[_Word], first: int, stop: int, text: str) -> tuple[int, int]:
        """The span less the HR words NER ran into it at either end ("Staff Nurse - Kota"
        is judged as "Kota", inside the place "Kota Kinabalu"); never less than a word."""
        while stop - first > 1 and self._plain_hr_word(words[first], text):
            first += 1
        while stop - first > 1 and self._plain_hr_word(words[stop - 1], text):
            stop -= 1
        return first, stop

    def _full_name(self, words: Sequence[_Word], first: int, stop: int, text: str) -> bool:
        """A known given name right before a known family name, one of them in the span
        (NER may have cut "Baker" out of "Mason Baker"), neither of them part of a label
        ("Media Sales Executive": "sales executive")."""
        begin = max(0, first - 1)
        for index in range(begin, min(stop, len(words) - 1)):
            left, right = words[index], words[index + 1]
            if (
                left.folded in self.names.given
                and right.folded in self.names.family
                and text[left.end : right.start].strip() == ""
                and _capitalised(left, text)
                and _capitalised(right, text)
                and not self._inside_label(words, index, index + 1)
                and not self._inside_label(words, index + 1, index + 2)
            ):
                return True
        return False

    def _cued(self, words: Sequence[_Word], first: int, stop: int, text: str) -> bool:
        """An honorific right before the span, a relation word before a known name that is
        no HR word, or a possessive naming someone's team after a known name."""
        before = words[first - 1] if first > 0 else None
        span = words[first:stop]
        if before is not None and before.folded in HONORIFICS and not _acronym(before, text):
            # "Mr Baker"; not "MS Engineer" (Microsoft) nor "MS DYNAMICS"
            return any(self._namey(w, text) or not self._explained(w, text) for w in span)
        before_word = before.folded if before is not None else ""
        if before_word in RELATION_CUES and any(
            self._namey(w, text) and not self.vocabulary.explains_word(w.folded) for w in span
        ):
            return True
        return any(self._namey(w, text) for w in span) and (
            _POSSESSIVE_CUE.match(text[words[stop - 1].end :]) is not None
        )

    def _inside_label(self, words: Sequence[_Word], first: int, stop: int) -> bool:
        """Some window of two to five words that covers the span, and is longer than one
        word, is a vocabulary label or a place ("Branch" in "Assistant Branch Manager")."""
        folded = [w.folded for w in words]
        for size in range(max(2, stop - first), MAX_PHRASE_WORDS + 1):
            for begin in range(max(0, stop - size), min(first, len(folded) - size) + 1):
                window = folded[begin : begin + size]
                if self.vocabulary.has_phrase(window) or (
                    size > stop - first and self.places.is_place(window)
                ):
                    return True
        return False

    def _namey(self, word: _Word, text: str) -> bool:
        """A known given or family name, or a word shaped like a family name; an acronym
        ("IBAN", "HR") is none."""
        if _acronym(word, text):
            return False
        return (
            word.folded in self.names.given
            or word.folded in self.names.family
            or looks_like_surname(word.raw)
        )

    def _explained(self, word: _Word, text: str) -> bool:
        if self.vocabulary.explains_word(word.folded) or word.folded in STOP_WORDS:
            return True
        if _acronym(word, text):
            return True  # "IBAN", "SAP", "AWS"
        if word.folded in SITE_WORDS:
            return True
        return self.kind == "location" and word.folded in self.places.words


def _acronym(word: _Word, text: str) -> bool:
    """Up to five capitals, in mixed-case text or alone ("IBAN" as the whole field); in an
    all-caps title ("SALES ASSISTANT ANNA") a word's case says nothing."""
    if not (word.raw.isupper() and len(word.raw) <= 5):
        return False
    return not text.isupper() or text.strip() == word.raw


def _capitalised(word: _Word, text: str) -> bool:
    return word.raw[:1].isupper() or text.isupper()


@dataclass(frozen=True)
class HRFieldReaders:
    """One reader per field kind, over the same vocabulary and gazetteer."""

    title: HRFieldReader
    department: HRFieldReader
    location: HRFieldReader
    skill: HRFieldReader

    @classmethod
    def build(
        cls, vocabulary: HRVocabulary | None = None, places: PlaceGazetteer | None = None
    ) -> HRFieldReaders:
        vocabulary = vocabulary or get_hr_vocabulary()
        places = places or get_places()
        names = load_gazetteer()
        return cls(*(HRFieldReader(kind, vocabulary, places, names) for kind in FIELD_KINDS))

    def for_field(self, name: str) -> HRFieldReader | None:
        """The reader of a model-view field (``skills.N`` is a skill), or None: free text
        that is read as any text."""
        base = name.split(".", 1)[0]
        if base == "skills":
            return self.skill
        reader = getattr(self, base, None)
        return reader if isinstance(reader, HRFieldReader) else None


@functools.cache
def default_readers() -> HRFieldReaders:
    """Readers over ESCO, the bundled catalog and GeoNames, built on first use."""
    return HRFieldReaders.build()


def default_reader(name: str) -> HRFieldReader | None:
    """`PIIGuard`'s default: the vocabulary and gazetteer load on the first record, not
    when a caller only wants the guard's firewall."""
    return default_readers().for_field(name)
