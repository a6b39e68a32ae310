"""Turn free text into text a model may see: personal values become stable placeholders.

Placeholders are consistent within one record's run (`pii.placeholders.PlaceholderMap`):
the model can still tell that the "<PERSON_1>" in the notes is the "<PERSON_1>" in the
comment, and the lead's vault can map every placeholder back for the reviewer, without the
model seeing a value.

Replacement is done here on resolved spans rather than through Presidio's AnonymizerEngine:
overlapping findings are merged (never dropped) so no detected character survives
(`pii.findings`), and the placeholder numbering needs state across texts, which Presidio
operators do not carry.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, cast

from presidio_analyzer import AnalyzerEngine, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from pii.analyzer import (
    DEFAULT_SCORE_THRESHOLD,
    LANGUAGE,
    LowercaseLemmaEngine,
    get_analyzer,
)
from pii.findings import Candidate, Finding, resolve_overlaps
from pii.identity import RecordIdentity
from pii.lru import LRU
from pii.ner_plan import NerPlan, plan_ner, run_plans
from pii.placeholders import PlaceholderMap
from pii.recognizers.entities import PERSON
from pii.recognizers.person_refinement import refine_people
from pii.recognizers.record_deny_list import DENY_LIST_RECOGNIZER, RecordDenyListRecognizer

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
class ScrubResult:
    text: str
    findings: list[Finding]


class FieldReading(Protocol):
    """How a field of known kind is read (`pii.hr_fields`): a title or a site is HR
    vocabulary before it is free text. The record's own values are found whatever it says."""

    def settles(self, text: str) -> bool:
        """True: nothing but the record's own values can be personal here (no analysis)."""
        ...

    def vet(
        self, text: str, findings: Sequence[Finding], own: Sequence[tuple[int, int]]
    ) -> list[Finding]:
        """The findings that stand in this field; `own`: spans of the record's values."""
        ...


@dataclass(frozen=True)
class RecordTexts:
    """One record's texts for `Scrubber.scrub_records`, with its identity and numbering;
    `readings`: per text, how its field is read (None, or none given: as free text)."""

    texts: Sequence[str]
    identity: RecordIdentity | None
    placeholders: PlaceholderMap
    readings: Sequence[FieldReading | None] = ()

    def reading(self, index: int) -> FieldReading | None:
        return self.readings[index] if index < len(self.readings) else None


@dataclass(frozen=True)
class _Job:
    """A text to analyse; `record_key` set when its plan holds for one record only."""

    text: str
    plan: NerPlan | None
    record_key: bytes | None = None


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
        self._cache: LRU[bytes, tuple[Candidate, ...]] = LRU(CACHE_SIZE)
        # analyses `prepare` made for one record's run (see `_analysis`)
        self._prepared: LRU[bytes, tuple[Candidate, ...]] = LRU(CACHE_SIZE)
        self._digest_key = os.urandom(16)
        # NER can be skipped for a text when the only entity it contributes that is not
        # kept is PERSON (the default: places and dates are kept) and the text's words
        # rule out any person it could find (`pii.ner_plan`)
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
        self._prepared.clear()

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
        *,
        specific: bool = False,
    ) -> list[Finding]:
        own = self._record_values(text, deny_list)
        analysed = self._analysis(
            text,
            nlp_artifacts,
            own=own,
            record_key=self._record_key(text, deny_list),
            specific=specific,
        )
        return resolve_overlaps([*analysed, *own])

    def _analysis(
        self,
        text: str,
        nlp_artifacts: NlpArtifacts | None,
        *,
        own: Sequence[Candidate] = (),
        record_key: bytes | None = None,
        specific: bool = False,
        remember: bool = False,
    ) -> tuple[Candidate, ...]:
        """What the shared analyzer finds (no record values), cached for short texts (and
        for any text when `remember`: see `prepare`).

        NER may skip sentences because they name only the record's own people (`own`); an
        analysis made that way (`specific`, or so planned here) holds for that record only.
        It is never put in the shared cache, where another record's run of the same text,
        with other names to find, would take it; `prepare` keeps it under `record_key`
        (the text and the record's deny-list) for that record's own run.
        """
        shared_key = self._digest(text)
        for cache, key in ((self._cache, shared_key), (self._prepared, record_key)):
            hit = cache.get(key) if key is not None else None
            if hit is not None:
                return hit
        if nlp_artifacts is None:
            plan, specific = self._plan_for(text, own)
            if plan is not None:
                nlp_artifacts = self._run({shared_key: _Job(text, plan)}, batch_size=1)[shared_key]
        results = self.analyzer.analyze(
            text,
            language=LANGUAGE,
            entities=self.entities,
            score_threshold=self.score_threshold,
            nlp_artifacts=nlp_artifacts,
        )
        candidates = tuple(
            Candidate(r.entity_type, r.start, r.end, r.score, from_record=False)
            for r in refine_people(text, results)
            if self.operators.get(r.entity_type, "replace") != "keep" and r.end > r.start
        )
        if specific:
            if remember and record_key is not None:
                self._prepared.put(record_key, candidates)
        elif len(text) <= CACHE_MAX_CHARS or remember:
            self._cache.put(shared_key, candidates)
        return candidates

    def prepare(
        self,
        records: Iterable[tuple[Sequence[str], RecordIdentity | None]],
        *,
        batch_size: int = 64,
    ) -> int:
        """Analyse records' texts ahead of their runs, NER batched across all of them.

        For the worker's prefetch: analysing the next records together (one NER batch over
        the sentences that need it) and keeping the results (offsets and types, no text,
        whatever the length) makes each record's own `scrub` a lookup, as long as it comes
        with the same identity. Returns how many texts were analysed.
        """
        jobs = self._jobs((texts, self._deny_list(identity)) for texts, identity in records)
        for key, artifacts in self._run(jobs, batch_size=batch_size).items():
            job = jobs[key]
            self._analysis(
                job.text,
                artifacts,
                record_key=job.record_key,
                specific=job.record_key is not None,
                remember=True,
            )
        return len(jobs)

    def _jobs(
        self, records: Iterable[tuple[Sequence[str], RecordDenyListRecognizer | None]]
    ) -> dict[bytes, _Job]:
        """What to analyse of these records' texts, by the key its result is kept under:
        texts already known are left out, repeated ones planned once (a plan made with one
        record's names in mind is that record's alone)."""
        jobs: dict[bytes, _Job] = {}
        for texts, deny_list in records:
            for text in texts:
                shared_key = self._digest(text)
                if shared_key in jobs or self._cache.get(shared_key) is not None:
                    continue
                record_key = self._record_key(text, deny_list)
                if record_key is not None and (
                    record_key in jobs or self._prepared.get(record_key) is not None
                ):
                    continue
                plan, specific = self._plan_for(text, self._record_values(text, deny_list))
                if specific and record_key is not None:
                    jobs[record_key] = _Job(text, plan, record_key)
                else:
                    jobs[shared_key] = _Job(text, plan)
        return jobs

    def _plan(
        self, text: str, own: Sequence[Candidate] = (), *, like: NerPlan | None = None
    ) -> NerPlan | None:
        """What NER must read of text (`pii.ner_plan`); None: the whole text through
        the engine's own pipeline (an engine of another kind, or places or dates wanted,
        which NER finds anywhere). `like`: a plan of the same text, whose tokens to reuse."""
        engine = self.analyzer.nlp_engine
        if not isinstance(engine, LowercaseLemmaEngine) or not self._ner_only_for_people:
            return None
        if not self._wanted(PERSON):
            return NerPlan(engine.get_nlp(LANGUAGE).make_doc(text), ())
        covered = [(candidate.start, candidate.end) for candidate in own]
        return plan_ner(engine, text, covered, doc=like.doc if like is not None else None)

    def _plan_for(self, text: str, own: Sequence[Candidate]) -> tuple[NerPlan | None, bool]:
        """The plan for one record's run of text, and whether it holds for that record only
        (its own names let NER skip more than any other record could)."""
        shared = self._plan(text)
        if shared is None or not shared.needs_ner or not own:
            return shared, False
        mine = self._plan(text, own, like=shared)
        if mine is None or mine.stretches == shared.stretches:
            return shared, False
        return mine, True

    def _run(self, jobs: Mapping[bytes, _Job], *, batch_size: int) -> dict[bytes, NlpArtifacts]:
        """Artifacts for each job: one NER batch over every needed sentence, the engine's
        whole pipeline for texts without a plan."""
        engine = self.analyzer.nlp_engine
        whole = [(key, job.text) for key, job in jobs.items() if job.plan is None]
        artifacts: dict[bytes, NlpArtifacts] = {}
        if whole:
            batch = _pipe(engine.process_batch([text for _, text in whole], LANGUAGE, batch_size))
            artifacts.update(
                (key, result) for (key, _), (_, result) in zip(whole, batch, strict=True)
            )
        planned = {key: job.plan for key, job in jobs.items() if job.plan is not None}
        if planned and isinstance(engine, LowercaseLemmaEngine):  # plans exist for it only
            artifacts.update(run_plans(engine, planned, batch_size))
        return artifacts

    def _record_key(self, text: str, deny_list: RecordDenyListRecognizer | None) -> bytes | None:
        if deny_list is None:
            return None
        return self._digest(f"{deny_list.fingerprint}\x00{text}")

    @staticmethod
    def _deny_list(identity: RecordIdentity | None) -> RecordDenyListRecognizer | None:
        """Built per call (a handful of terms, microseconds): nothing of the record's
        values outlives the call."""
        if identity is None or identity.is_empty():
            return None
        return RecordDenyListRecognizer(identity)

    def _record_values(
        self, text: str, deny_list: RecordDenyListRecognizer | None
    ) -> list[Candidate]:
        """The record's own names, emails and ids (certain, cheap: substring search)."""
        if deny_list is None:
            return []
        return [
            Candidate(r.entity_type, r.start, r.end, r.score, from_record=True)
            for r in deny_list.analyze(text, list(self.entities or ()))
            if self.operators.get(r.entity_type, "replace") != "keep" and r.end > r.start
        ]

    def _resolve(self, results: Iterable[RecognizerResult]) -> list[Finding]:
        """Resolve raw analyzer results (deny-list results recognised by their name)."""
        return resolve_overlaps(
            Candidate(
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
        readings: Sequence[FieldReading | None] = (),
    ) -> list[ScrubResult]:
        """Like `scrub` for each text, with spaCy run once over the batch (`nlp.pipe`).

        Texts are numbered in order, so placeholders come out exactly as sequential calls
        would give them. `readings`: how each text's field is read (see `RecordTexts`).
        """
        return self.scrub_records(
            [RecordTexts(texts, identity, placeholders, readings)], batch_size=batch_size
        )[0]

    def scrub_records(
        self, records: Sequence[RecordTexts], *, batch_size: int = 64
    ) -> list[list[ScrubResult]]:
        """`scrub_many` over many records: one spaCy pipe for all texts not seen before.

        Each record keeps its own identity and placeholder map; repeated texts (the same
        title on a hundred records) go through NER once, and cached ones not at all.
        """
        deny_lists = [self._deny_list(record.identity) for record in records]
        # texts their field's reading settles need no analysis (no NER) at all
        settled = [
            [_settles(record.reading(i), text) for i, text in enumerate(record.texts)]
            for record in records
        ]
        jobs = self._jobs(
            ([t for t, done in zip(record.texts, flags, strict=True) if not done], deny_list)
            for record, deny_list, flags in zip(records, deny_lists, settled, strict=True)
        )
        artifacts = self._run(jobs, batch_size=batch_size)
        shared = {job.text: artifacts[key] for key, job in jobs.items() if job.record_key is None}
        scrubbed: list[list[ScrubResult]] = []
        for record, deny_list, flags in zip(records, deny_lists, settled, strict=True):
            results: list[ScrubResult] = []
            for index, text in enumerate(record.texts):
                reading = record.reading(index)
                if flags[index]:
                    findings = resolve_overlaps(self._record_values(text, deny_list))
                else:
                    record_key = self._record_key(text, deny_list)
                    specific = record_key is not None and record_key in jobs
                    found = artifacts[record_key] if specific and record_key else shared.get(text)
                    findings = self._find(text, deny_list, found, specific=specific)
                    if reading is not None:
                        own = self._record_values(text, deny_list)
                        findings = reading.vet(text, findings, [(c.start, c.end) for c in own])
                results.append(
                    ScrubResult(self._replace(text, findings, record.placeholders), findings)
                )
            scrubbed.append(results)
        return scrubbed

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


def _settles(reading: FieldReading | None, text: str) -> bool:
    return reading is not None and reading.settles(text)


def _pipe(batch: Iterable[object]) -> Iterator[tuple[str, NlpArtifacts]]:
    """Presidio types `process_batch` loosely (tuples of Any); pin the shape down once."""
    for item in batch:
        text, artifacts = cast(tuple[str, NlpArtifacts], item)
        yield text, artifacts
