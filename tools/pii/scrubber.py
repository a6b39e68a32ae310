"""Turn free text into text a model may see: personal values become stable placeholders.

Placeholders are consistent within one record's run (`PlaceholderMap`): the model can still
tell that the "<PERSON_1>" in the notes is the "<PERSON_1>" in the comment, and the lead's
vault can map every placeholder back for the reviewer, without the model seeing a value.

Replacement is done here on resolved spans rather than through Presidio's AnonymizerEngine:
overlapping findings are merged (never dropped) so no detected character survives, and the
placeholder numbering needs state across texts, which Presidio operators do not carry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from tools.pii.analyzer import DEFAULT_SCORE_THRESHOLD, LANGUAGE, get_analyzer
from tools.pii.identity import RecordIdentity, normalise
from tools.pii.recognizers import DENY_LIST_RECOGNIZER, RecordDenyListRecognizer

logger = logging.getLogger(__name__)

Operator = Literal["replace", "keep", "redact", "mask"]
"""replace: `<TYPE_n>` placeholder; keep: leave as is; redact: remove; mask: `*` per char."""

DEFAULT_OPERATORS: Mapping[str, Operator] = {
    # dates are mostly effective dates the agents need (start, termination, due); a date of
    # birth is recognised separately as DATE_OF_BIRTH and replaced
    "DATE_TIME": "keep",
}
MASK_CHAR = "*"


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

    # -- finding ------------------------------------------------------------------------------

    def find(
        self,
        text: str,
        *,
        identity: RecordIdentity | None = None,
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[Finding]:
        """Resolved, non-overlapping findings in text order (kept types left out)."""
        ad_hoc: list[EntityRecognizer] = (
            [RecordDenyListRecognizer(identity)] if identity and not identity.is_empty() else []
        )
        results = self.analyzer.analyze(
            text,
            language=LANGUAGE,
            entities=self.entities,
            score_threshold=self.score_threshold,
            ad_hoc_recognizers=ad_hoc or None,
            nlp_artifacts=nlp_artifacts,
        )
        return self._resolve(results)

    def _resolve(self, results: Iterable[RecognizerResult]) -> list[Finding]:
        """Merge overlapping findings into one span typed by the strongest of them.

        Merging (not discarding the losers) means a partial overlap, say NER's "Priya Patel
        Smith" against the deny-list's "Priya Patel", still removes "Smith".
        """
        candidates = sorted(
            (
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
            ),
            key=lambda c: (c.start, -c.end),
        )
        findings: list[Finding] = []
        for group in _overlapping_groups(candidates):
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
        results: list[ScrubResult] = []
        nlp = self.analyzer.nlp_engine
        for text, artifacts in _pipe(nlp.process_batch(list(texts), LANGUAGE, batch_size)):
            findings = self.find(text, identity=identity, nlp_artifacts=artifacts)
            results.append(ScrubResult(self._replace(text, findings, placeholders), findings))
        return results

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
