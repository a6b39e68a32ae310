"""Document-level fixes to PERSON findings: firm names dropped, lists of known names and
repeated mentions of a found name added."""

from __future__ import annotations

import re
from collections.abc import Sequence

from presidio_analyzer import AnalysisExplanation, RecognizerResult

from pii.identity import normalise
from pii.names import load_gazetteer
from pii.recognizers.entities import PERSON
from pii.recognizers.spacy_ner import JOB_TITLE_WORDS

_CAPITALISED_WORD = re.compile(r"[^\W\d_][^\W\d_'\u2019\-]+")
_MIN_PROPAGATED_LENGTH = 3
PROPAGATED_NAME_SCORE = 0.6


_NAME_ITEM = r"[^\W\d_][^\W\d_'\u2019]*(?:-[^\W\d_]+)?"
_NAME_LIST = re.compile(
    rf"(?<![\w\-])({_NAME_ITEM})((?:,\s+{_NAME_ITEM})*),?\s+(?:and|&)\s+({_NAME_ITEM})(?!\w)"
)
_COMPANY_LEAD = re.compile(r"\b(?:at|from|for|with|of|joined|join|the|by)\s+$", re.IGNORECASE)
_COMPANY_TAIL = re.compile(
    r",?\s+(?:(?i:inc|llc|ltd|plc|gmbh|corp|corporation|company|co|group|holdings|partners|"
    r"associates|agency|orchestra|foundation|bank)\b|&\s+Sons|is\s+an?\s+\w+\s+"
    r"(?:agency|company|firm))"
)
LISTED_NAME_SCORE = 0.5


def _company_lists(text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Spans of "A, B and C" lists: (firm names, lists of people).

    Three family names are the classic firm name ("Jones, Mitchell and Williams"): a list
    is a firm when it follows "at/from/for/with/the", starts the text, or is followed by a
    company word ("Orchestra", "LLC", "& Sons", "is a design agency"), and holds no known
    given name. Otherwise, a list of known names ("our founders: Kónya, Becker and
    Vasquez") is a list of people.
    """
    names = load_gazetteer()
    firms: list[tuple[int, int]] = []
    people: list[tuple[int, int]] = []
    for match in _NAME_LIST.finditer(text):
        items = [match.group(1), *re.findall(_NAME_ITEM, match.group(2)), match.group(3)]
        if not all(item[0].isupper() for item in items):
            continue
        parts = [normalise(p) for item in items for p in item.split("-")]
        given = any(p in names.given and p not in names.family for p in parts)
        known = sum(p in names.given or p in names.family for p in parts)
        lead = text[max(0, match.start() - 12) : match.start()]
        firm_like = (
            match.start() == 0
            or _COMPANY_LEAD.search(lead) is not None
            or _COMPANY_TAIL.match(text[match.end() :]) is not None
        )
        if firm_like and not given:
            firms.append(match.span())
        elif known >= 2 and known >= len(parts) - 1:
            offset = match.start()
            for item in items:
                item_start = text.index(item, offset)
                people.append((item_start, item_start + len(item)))
                offset = item_start + len(item)
    return firms, people


def _after_the(text: str, start: int) -> bool:
    return text[max(0, start - 4) : start].casefold() == "the "


def refine_people(text: str, results: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """Document-level fixes to PERSON findings, once every recognizer has run.

    - names inside firm names ("at Jones, Mitchell and Williams", "Davis Orchestra") and
      right after "the" ("The Princess Royal") are dropped;
    - the items of a list of known names ("founders: Kónya, Becker and Vasquez") are added;
    - bare repeats of a word of a found multi-word name are added: a text that names
      "Maciej Borkowski" once often says "Borkowski" alone elsewhere, and a lone family
      name is too weak for any recognizer. Job-title words never spread.
    """
    firms, listed = _company_lists(text) if "," in text or " and " in text else ([], [])
    kept: list[RecognizerResult] = []
    for result in results:
        if result.entity_type == PERSON and (
            _after_the(text, result.start)
            or any(s < result.end and result.start < e for s, e in firms)
        ):
            continue
        kept.append(result)
    names = [r for r in kept if r.entity_type == PERSON]
    covered = [(r.start, r.end) for r in names]
    extra: list[RecognizerResult] = []

    def add(start: int, end: int, score: float, why: str) -> None:
        covered.append((start, end))
        extra.append(
            RecognizerResult(
                PERSON,
                start,
                end,
                score,
                analysis_explanation=AnalysisExplanation(
                    recognizer="refine_people", original_score=score, textual_explanation=why
                ),
            )
        )

    for start, end in listed:
        if not any(s < end and start < e for s, e in covered):
            add(start, end, LISTED_NAME_SCORE, "item of a list of known names")
    words: set[str] = set()
    for result in names:
        parts = _CAPITALISED_WORD.findall(text[result.start : result.end])
        if len(parts) < 2:
            continue
        words.update(
            part
            for part in parts
            if len(part) >= _MIN_PROPAGATED_LENGTH
            and part[0].isupper()
            and normalise(part) not in JOB_TITLE_WORDS
        )
    if words:
        for match in _CAPITALISED_WORD.finditer(text):
            start, end = match.span()
            if match.group() not in words or (start and text[start - 1] == "-"):
                continue
            if any(s < end and start < e for s, e in covered):
                continue
            add(start, end, PROPAGATED_NAME_SCORE, "word of a name found elsewhere in the text")
    return [*kept, *extra]
