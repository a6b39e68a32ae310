"""The per-record deny-list: this record's own names, emails and ids, found with certainty."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from presidio_analyzer import EntityRecognizer, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from pii.identity import RecordIdentity, is_whole_word, normalise, normalise_with_offsets
from pii.recognizers.entities import EMAIL_ADDRESS, EMPLOYEE_ID, PERSON
from pii.recognizers.results import explained_result

DENY_LIST_RECOGNIZER = "RecordDenyListRecognizer"
"""Name the scrubber looks for: deny-list findings beat every other overlapping finding."""


@dataclass(frozen=True)
class _DenyTerm:
    folded: str
    entity_type: str


class RecordDenyListRecognizer(LocalRecognizer):
    """Finds this record's own names, email and ids, whatever their case or accents.

    NER misses bare first names and all-caps names; the record tells us exactly which
    strings belong to this person, so matching them is certain (score 1.0). Matching runs
    on the normalised text (see `pii.identity.normalise`) and maps back to the
    original offsets, so "PRIYA", "priya" and "Zoe" for "Zoë" are all found.
    """

    name: str  # set by Presidio; declared for the type checker

    def __init__(self, identity: RecordIdentity) -> None:
        terms = [
            *(_DenyTerm(normalise(value), EMAIL_ADDRESS) for value in identity.emails),
            *(_DenyTerm(normalise(value), EMPLOYEE_ID) for value in identity.ids),
            *(_DenyTerm(normalise(value), PERSON) for value in identity.names),
            *(_DenyTerm(normalise(value), EMAIL_ADDRESS) for value in identity.email_local_parts),
        ]
        # longest first so "priya patel" wins over "priya" at the same position
        self._terms = sorted({term.folded: term for term in terms}.values(), key=_longest_first)
        # a handful of terms per record: plain substring search beats compiling a regex
        # for every record
        super().__init__(
            supported_entities=[PERSON, EMAIL_ADDRESS, EMPLOYEE_ID],
            name=DENY_LIST_RECOGNIZER,
        )

    @property
    def fingerprint(self) -> str:
        """The record's terms as one string: what makes two deny-lists the same (for keyed
        digests only, never stored as it is)."""
        return "\x1f".join(term.folded for term in self._terms)

    def load(self) -> None:
        """Nothing to load: the terms come from the record."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[RecognizerResult]:
        if not self._terms:
            return []
        folded, offsets = normalise_with_offsets(text)
        results: list[RecognizerResult] = []
        for match_start, match_end, term in _term_matches(folded, self._terms):
            entity_type = term.entity_type
            if entities and entity_type not in entities:
                continue
            results.append(
                explained_result(
                    self,
                    entity_type,
                    offsets[match_start],
                    _original_end(offsets, match_end),
                    EntityRecognizer.MAX_SCORE,
                    "value of this record",
                )
            )
        return results


def _term_matches(folded: str, terms: Sequence[_DenyTerm]) -> list[tuple[int, int, _DenyTerm]]:
    """Whole-word occurrences, scanning left to right, longest term first at a position,
    never overlapping: what one regex alternation of the terms would find."""
    found: dict[int, tuple[int, _DenyTerm]] = {}
    for term in terms:  # longest first, so the first hit at a start is the longest
        start = folded.find(term.folded)
        while start != -1:
            end = start + len(term.folded)
            if start not in found and is_whole_word(folded, start, end):
                found[start] = (end, term)
            start = folded.find(term.folded, start + 1)
    matches: list[tuple[int, int, _DenyTerm]] = []
    cursor = 0
    for start in sorted(found):
        end, term = found[start]
        if start >= cursor:
            matches.append((start, end, term))
            cursor = end
    return matches


def _longest_first(term: _DenyTerm) -> tuple[int, str]:
    return (-len(term.folded), term.folded)


def _original_end(offsets: list[int], folded_end: int) -> int:
    """End offset in the original text: one past the source char of the last folded char."""
    return offsets[folded_end - 1] + 1 if folded_end > 0 else 0
