"""Which sentences of a text spaCy NER must read, and running it on just those.

NER is the bulk of scrubbing time, and its cost grows with the tokens it reads (on this
machine ~3.7 ms for a 25-token note alone, ~1.3 ms a note in a batch: `Scrubber.prepare`),
so reading fewer tokens saves in either mode. With places and dates kept, NER matters
here only for people, and a sentence whose words rule out any person `HRSpacyRecognizer`
would keep ("Reach <them> at <email>.", "Promoted to Customer Success Manager.") cannot
change the outcome. The record's own names count as ruled out in the record's own run:
the deny-list replaces them whatever NER says.

Sentences are cut conservatively (after a word of two or more letters, not a title such as
"Dr", and `.`, `!`, `?` or `;`, or at a line break), so "Dr. Ingrid K. Solberg" stays in
one piece. NER reads each
needed sentence on its own; its entities are put back on a tokenizer-only doc of the whole
text. Where a sentence's tokens do not line up with the whole text's, the whole text is
read instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.tokens import Doc, Span

from pii.analyzer import LANGUAGE, LowercaseLemmaEngine
from pii.recognizers.spacy_ner import spacy_people_all_dropped, tokens_glued

Stretch = tuple[int, int]
K = TypeVar("K")

_SENTENCE_BREAK = re.compile(r"(?<=[^\W\d_]{2}[.!?;])\s+|\s*\n\s*")


_TITLES = frozenset(
    {"mr", "mrs", "ms", "mx", "dr", "prof", "sr", "jr", "st", "rev", "hon", "capt", "col", "gen"}
)
"""Abbreviations that precede a name: no cut after them ("Dr. Ingrid Solberg")."""
_LAST_WORD = re.compile(r"([^\W\d_]+)[.!?;]$")


def sentences(text: str) -> list[Stretch]:
    """(start, end) of each sentence, cut only where a cut is safe (see the module doc)."""
    stretches: list[Stretch] = []
    start = 0
    for match in _SENTENCE_BREAK.finditer(text):
        before = _LAST_WORD.search(text, start, match.start())
        if before is not None and before.group(1).lower() in _TITLES and "\n" not in match.group():
            continue
        if match.start() > start:
            stretches.append((start, match.start()))
        start = match.end()
    if start < len(text):
        stretches.append((start, len(text)))
    return stretches


@dataclass(frozen=True)
class NerPlan:
    """`doc`: the text through the tokenizer only; `stretches`: what NER must read
    (empty: nothing; the whole text: no saving)."""

    doc: Doc
    stretches: tuple[Stretch, ...]

    @property
    def needs_ner(self) -> bool:
        return bool(self.stretches)


def plan_ner(
    engine: LowercaseLemmaEngine,
    text: str,
    covered: Sequence[Stretch] = (),
    *,
    doc: Doc | None = None,
) -> NerPlan:
    """The sentences of text in which NER could find a person that would be kept, with
    `covered` (the record's own values) ruled out. `doc`: text already through the
    tokenizer (another plan's), to save doing it again."""
    doc = doc if doc is not None else engine.get_nlp(LANGUAGE).make_doc(text)
    whole = ((0, len(text)),) if text else ()
    if tokens_glued(doc):
        # a token edge inside a word lets NER cut a span the word reasoning never saw
        return NerPlan(doc, whole)
    needed = tuple(
        (start, end)
        for start, end in sentences(text)
        if not spacy_people_all_dropped(
            text[start:end],
            [(a - start, b - start) for a, b in covered if start <= a and b <= end],
        )
    )
    return NerPlan(doc, needed)


def run_plans(
    engine: LowercaseLemmaEngine, plans: Mapping[K, NerPlan], batch_size: int
) -> dict[K, NlpArtifacts]:
    """Artifacts for each plan, NER batched over every needed sentence of all of them; a
    text whose sentences do not line up with its own tokens is read whole."""
    pieces = [(key, start, end) for key, plan in plans.items() for start, end in plan.stretches]
    found: dict[K, list[Span]] = {key: [] for key in plans}
    misaligned: dict[K, None] = {}  # ordered set
    texts = [plans[key].doc.text[start:end] for key, start, end in pieces]
    read = engine.ner_docs(texts, batch_size) if texts else []
    for (key, start, _), sentence in zip(pieces, read, strict=True):
        doc = plans[key].doc
        for entity in sentence.ents:
            span = doc.char_span(
                start + entity.start_char, start + entity.end_char, label=entity.label_
            )
            if span is None:
                misaligned[key] = None
            else:
                found[key].append(span)
    artifacts: dict[K, NlpArtifacts] = {}
    for key, plan in plans.items():
        if key not in misaligned:
            plan.doc.ents = found[key]
            artifacts[key] = engine.tokens_only(plan.doc)
    keys = list(misaligned)
    if keys:
        wholes = engine.process_batch([plans[key].doc.text for key in keys], LANGUAGE, batch_size)
        for key, (_, result) in zip(keys, wholes, strict=True):
            artifacts[key] = result
    return artifacts
