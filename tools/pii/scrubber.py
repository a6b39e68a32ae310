"""Turn free text into text a model may see: personal values become stable placeholders.

Placeholders are consistent within one record's run (`PlaceholderMap`): the model can still
tell that the "<PERSON_1>" in the notes is the "<PERSON_1>" in the comment, and the lead's
vault can map every placeholder back for the reviewer, without the model seeing a value.

Replacement is done here on resolved spans rather than through Presidio's AnonymizerEngine:
overlapping findings are merged (never dropped) so no detected character survives, and the
placeholder numbering needs state across texts, which Presidio operators do not carry.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar, cast

from presidio_analyzer import AnalyzerEngine, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from tools.pii.analyzer import (
    DEFAULT_SCORE_THRESHOLD,
    LANGUAGE,
    LowercaseLemmaEngine,
    get_analyzer,
)
from tools.pii.identity import RecordIdentity, normalise
from tools.pii.recognizers import (
    DENY_LIST_RECOGNIZER,
    PERSON,
    RecordDenyListRecognizer,
    refine_people,
    spacy_people_all_dropped,
    tokens_glued,
)

logger = logging.getLogger(__name__)

Operator = Literal["replace", "keep", "redact", "mask"]
"""replace: `<TYPE_n>` placeholder; keep: leave as is; redact: remove; mask: `*` per char."""

DEFAULT_OPERATORS: Mapping[str, Operator] = {
    # dates are mostly effective dates the agents need (start, termination, due); a date of
    # birth is recognised separately as DATE_OF_BIRTH and replaced
    "DATE_TIME": "keep",
    # a city or country on its own is the work site or a business trip: business data the
    # canonical model already has as structured site fields, and no person is identified by
    # it. Where a person lives is scrubbed as STREET_ADDRESS (street, house number, postcode,
    # address blocks), which stays in scope. Callers that want places gone pass
    # operators={"LOCATION": "replace"}.
    "LOCATION": "keep",
}
MASK_CHAR = "*"

CACHE_MAX_CHARS = 256
"""Texts up to this length have their analysis cached (per `Scrubber`): titles, departments
and sites repeat across thousands of records. Only the record-independent analysis is
cached; the record's own deny-list runs on every call. Longer texts (notes) rarely repeat.

The cache holds no text: it is keyed by a keyed digest of the text (the key is random per
scrubber, so a digest cannot be checked against a guessed name) and holds only types,
offsets and scores."""
CACHE_SIZE = 4096


@dataclass(frozen=True)
class Finding:
    """One span of personal data after overlaps were resolved."""

    entity_type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class ScrubResult:
    text: str
    findings: list[Finding]


@dataclass
class PlaceholderMap:
    """Placeholder numbering for one record's run; values match on their normalised form.

    One instance per record and run: sharing one across records would let a model correlate
    different people through their placeholder numbers.
    """

    _by_key: dict[tuple[str, str], str] = field(default_factory=dict)
    _originals: dict[str, str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def placeholder(self, entity_type: str, value: str) -> str:
        key = (entity_type, normalise(value))
        existing = self._by_key.get(key)
        if existing is not None:
            return existing
        number = self._counts.get(entity_type, 0) + 1
        self._counts[entity_type] = number
        token = f"<{entity_type}_{number}>"
        self._by_key[key] = token
        self._originals[token] = value
        return token

    def mapping(self) -> dict[str, str]:
        """placeholder -> the value as first seen (what the vault stores, encrypted)."""
        return dict(self._originals)


@dataclass(frozen=True)
class RecordTexts:
    """One record's texts for `Scrubber.scrub_records`, with its identity and numbering."""

    texts: Sequence[str]
    identity: RecordIdentity | None
    placeholders: PlaceholderMap


K = TypeVar("K")
V = TypeVar("V")


class _LRU(Generic[K, V]):
    """A small thread-safe LRU map (scrubbers are shared across worker threads)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


@dataclass(frozen=True)
class _Candidate:
    entity_type: str
    start: int
    end: int
    score: float
    from_record: bool

    def rank(self) -> tuple[bool, int, float]:
        # the record's own values are certain; then the longer span, which is usually the
        # whole entity ("221B Baker St" over NER's "Baker St"); then confidence
        return (self.from_record, self.end - self.start, self.score)


class Scrubber:
    """Holds the (shared) analyzer and the operator policy; stateless between calls."""

    def __init__(
        self,
        analyzer: AnalyzerEngine | None = None,
        *,
        operators: Mapping[str, Operator] | None = None,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        entities: Sequence[str] | None = None,
    ) -> None:
        self.analyzer = analyzer if analyzer is not None else get_analyzer()
        self.operators: dict[str, Operator] = {**DEFAULT_OPERATORS, **(operators or {})}
        self.score_threshold = score_threshold
        self.entities = list(entities) if entities is not None else None
        self._cache: _LRU[bytes, tuple[_Candidate, ...]] = _LRU(CACHE_SIZE)
        self._digest_key = os.urandom(16)
        # NER can be skipped for a text when the only entity it contributes that is not
        # kept is PERSON (the default: places and dates are kept) and the text's words
        # rule out any person it could find (`_without_ner`)
        self._ner_only_for_people = all(
            not self._wanted(entity) for entity in ("LOCATION", "DATE_TIME")
        )

    def _wanted(self, entity_type: str) -> bool:
        return self.operators.get(entity_type, "replace") != "keep" and (
            self.entities is None or entity_type in self.entities
        )

    def clear_cache(self) -> None:
        """Forget cached analyses. They hold no text (see `CACHE_MAX_CHARS`), but where a
        person's data was found is still about them: call after an erasure if the process
        lives on. Record values are never kept past the call that uses them."""
        self._cache.clear()

    def _digest(self, text: str) -> bytes:
        return hashlib.blake2b(text.encode(), digest_size=16, key=self._digest_key).digest()

    # -- finding ------------------------------------------------------------------------------

    def find(
        self,
        text: str,
        *,
        identity: RecordIdentity | None = None,
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[Finding]:
        """Resolved, non-overlapping findings in text order (kept types left out)."""
        return self._find(text, self._deny_list(identity), nlp_artifacts)

    def _find(
        self,
        text: str,
        deny_list: RecordDenyListRecognizer | None,
        nlp_artifacts: NlpArtifacts | None,
    ) -> list[Finding]:
        own = self._record_values(text, deny_list)
        return _resolve([*self._analysis(text, nlp_artifacts, own), *own])

    def _analysis(
        self,
        text: str,
        nlp_artifacts: NlpArtifacts | None,
        own: Sequence[_Candidate] = (),
        *,
        remember: bool = False,
    ) -> tuple[_Candidate, ...]:
        """What the shared analyzer finds (no record values), cached for short texts (and
        for any text when `remember`: see `prepare`).

        `own` are the record's values in text: NER may be skipped because of them, and an
        analysis made without NER for that reason holds for this record only (not cached).
        """
        key = self._digest(text)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        for_this_record = False
        if nlp_artifacts is None:
            nlp_artifacts = self._without_ner(text)
        if nlp_artifacts is None and own:
            nlp_artifacts = self._without_ner(text, own)
            for_this_record = nlp_artifacts is not None
        results = self.analyzer.analyze(
            text,
            language=LANGUAGE,
            entities=self.entities,
            score_threshold=self.score_threshold,
            nlp_artifacts=nlp_artifacts,
        )
        candidates = tuple(
            _Candidate(r.entity_type, r.start, r.end, r.score, from_record=False)
            for r in refine_people(text, results)
            if self.operators.get(r.entity_type, "replace") != "keep" and r.end > r.start
        )
        if (len(text) <= CACHE_MAX_CHARS or remember) and not for_this_record:
            self._cache.put(key, candidates)
        return candidates

    def prepare(self, texts: Iterable[str], *, batch_size: int = 64) -> int:
        """Analyse texts ahead of the records that hold them, NER batched across them.

        For the worker's prefetch: NER costs about as much for one short text as for a
        batch of them, so analysing the next records' texts together and caching the
        results (offsets and types, no text; whatever the length) makes each record's
        own `scrub` a cache hit. Texts that need no NER are left to that call. Returns how
        many texts went through NER.
        """
        todo = [
            text
            for text in dict.fromkeys(texts)
            if self._cache.get(self._digest(text)) is None and self._without_ner(text) is None
        ]
        if todo:
            batch = self.analyzer.nlp_engine.process_batch(todo, LANGUAGE, batch_size)
            for text, artifacts in _pipe(batch):
                self._analysis(text, artifacts, remember=True)
        return len(todo)

    def _without_ner(self, text: str, own: Sequence[_Candidate] = ()) -> NlpArtifacts | None:
        """Tokenizer-only artifacts when NER could not change what this scrubber reports.

        NER is most of the cost of a short field, and for a department ("Operations"), a
        job title ("Senior Account Executive") or a note in plain words every person it
        could tag is dropped again by `HRSpacyRecognizer`; places and dates it finds are
        kept anyway. The same holds for a note whose only names are the record's own
        (`own`, replaced whatever NER says): "Manager Ann Lee approved the transfer of
        Priya Patel". None: run the full pipeline.
        """
        engine = self.analyzer.nlp_engine
        if not isinstance(engine, LowercaseLemmaEngine) or not self._ner_only_for_people:
            return None
        covered = [(candidate.start, candidate.end) for candidate in own]
        if self._wanted(PERSON) and not spacy_people_all_dropped(text, covered):
            return None
        doc = engine.get_nlp(LANGUAGE).make_doc(text)
        if self._wanted(PERSON) and tokens_glued(doc):
            return None
        return engine.tokens_only(doc)

    @staticmethod
    def _deny_list(identity: RecordIdentity | None) -> RecordDenyListRecognizer | None:
        """Built per call (a handful of terms, microseconds): nothing of the record's
        values outlives the call."""
        if identity is None or identity.is_empty():
            return None
        return RecordDenyListRecognizer(identity)

    def _record_values(
        self, text: str, deny_list: RecordDenyListRecognizer | None
    ) -> list[_Candidate]:
        """The record's own names, emails and ids (certain, cheap: substring search)."""
        if deny_list is None:
            return []
        return [
            _Candidate(r.entity_type, r.start, r.end, r.score, from_record=True)
            for r in deny_list.analyze(text, list(self.entities or ()))
            if self.operators.get(r.entity_type, "replace") != "keep" and r.end > r.start
        ]

    def _resolve(self, results: Iterable[RecognizerResult]) -> list[Finding]:
        """Resolve raw analyzer results (deny-list results recognised by their name)."""
        return _resolve(
            _Candidate(
                r.entity_type,
                r.start,
                r.end,
                r.score,
                (r.recognition_metadata or {}).get(RecognizerResult.RECOGNIZER_NAME_KEY)
                == DENY_LIST_RECOGNIZER,
            )
            for r in results
            if self.operators.get(r.entity_type, "replace") != "keep" and r.end > r.start
        )

    # -- replacing ----------------------------------------------------------------------------

    def scrub(
        self,
        text: str,
        *,
        identity: RecordIdentity | None,
        placeholders: PlaceholderMap,
    ) -> ScrubResult:
        findings = self.find(text, identity=identity)
        return ScrubResult(self._replace(text, findings, placeholders), findings)

    def scrub_many(
        self,
        texts: Sequence[str],
        *,
        identity: RecordIdentity | None,
        placeholders: PlaceholderMap,
        batch_size: int = 32,
    ) -> list[ScrubResult]:
        """Like `scrub` for each text, with spaCy run once over the batch (`nlp.pipe`).

        Texts are numbered in order, so placeholders come out exactly as sequential calls
        would give them.
        """
        return self.scrub_records(
            [RecordTexts(texts, identity, placeholders)], batch_size=batch_size
        )[0]

    def scrub_records(
        self, records: Sequence[RecordTexts], *, batch_size: int = 64
    ) -> list[list[ScrubResult]]:
        """`scrub_many` over many records: one spaCy pipe for all texts not seen before.

        Each record keeps its own identity and placeholder map; repeated texts (the same
        title on a hundred records) go through NER once, and cached ones not at all.
        """
        deny_lists = [self._deny_list(record.identity) for record in records]
        needs_ner: dict[str, None] = {}  # ordered set
        for record, deny_list in zip(records, deny_lists, strict=True):
            for text in record.texts:
                if text in needs_ner or self._analysis_is_cheap(text, deny_list):
                    continue
                needs_ner[text] = None
        artifacts: dict[str, NlpArtifacts] = {}
        if needs_ner:
            nlp = self.analyzer.nlp_engine
            artifacts.update(_pipe(nlp.process_batch(list(needs_ner), LANGUAGE, batch_size)))
        scrubbed: list[list[ScrubResult]] = []
        for record, deny_list in zip(records, deny_lists, strict=True):
            results: list[ScrubResult] = []
            for text in record.texts:
                findings = self._find(text, deny_list, artifacts.get(text))
                results.append(
                    ScrubResult(self._replace(text, findings, record.placeholders), findings)
                )
            scrubbed.append(results)
        return scrubbed

    def _analysis_is_cheap(self, text: str, deny_list: RecordDenyListRecognizer | None) -> bool:
        """Whether `_analysis` of text for this record needs no NER: cached, or skippable."""
        if self._cache.get(self._digest(text)) is not None:
            return True
        if self._without_ner(text) is not None:
            return True
        own = self._record_values(text, deny_list)
        return bool(own) and self._without_ner(text, own) is not None

    def _replace(self, text: str, findings: Sequence[Finding], placeholders: PlaceholderMap) -> str:
        pieces: list[str] = []
        cursor = 0
        for finding in findings:
            value = text[finding.start : finding.end]
            pieces.append(text[cursor : finding.start])
            pieces.append(self._render(finding.entity_type, value, placeholders))
            cursor = finding.end
        pieces.append(text[cursor:])
        return "".join(pieces)

    def _render(self, entity_type: str, value: str, placeholders: PlaceholderMap) -> str:
        operator = self.operators.get(entity_type, "replace")
        if operator == "redact":
            return ""
        if operator == "mask":
            return MASK_CHAR * len(value)
        if operator == "keep":  # only reachable if a caller bypasses `find`
            return value
        return placeholders.placeholder(entity_type, value)


def _resolve(candidates: Iterable[_Candidate]) -> list[Finding]:
    """Merge overlapping findings into one span typed by the strongest of them.

    Merging (not discarding the losers) means a partial overlap, say NER's "Priya Patel
    Smith" against the deny-list's "Priya Patel", still removes "Smith".
    """
    findings: list[Finding] = []
    for group in _overlapping_groups(sorted(candidates, key=lambda c: (c.start, -c.end))):
        best = max(group, key=_Candidate.rank)
        findings.append(
            Finding(
                entity_type=best.entity_type,
                start=min(c.start for c in group),
                end=max(c.end for c in group),
                score=best.score,
            )
        )
    return findings


def _overlapping_groups(candidates: Sequence[_Candidate]) -> Iterator[list[_Candidate]]:
    """Runs of candidates (sorted by start) whose spans chain-overlap."""
    group: list[_Candidate] = []
    group_end = -1
    for candidate in candidates:
        if group and candidate.start < group_end:
            group.append(candidate)
            group_end = max(group_end, candidate.end)
            continue
        if group:
            yield group
        group = [candidate]
        group_end = candidate.end
    if group:
        yield group


def _pipe(batch: Iterable[object]) -> Iterator[tuple[str, NlpArtifacts]]:
    """Presidio types `process_batch` loosely (tuples of Any); pin the shape down once."""
    for item in batch:
        text, artifacts = cast(tuple[str, NlpArtifacts], item)
        yield text, artifacts
