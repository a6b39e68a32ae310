"""Span-level evaluation of PII detection on presidio-research's synthetic dataset.

The scoring the pii suite (`evals.suites.pii`), ``talentsync eval pii`` and the standalone
report (``python -m evals.fitting.pii``) share.

Convention (presidio-research's span evaluation, overlap flavour):

- a gold span is *found* when some predicted span of the same (mapped) type overlaps it;
  ``tp`` counts found gold spans and ``fn`` the rest, so recall = tp / support;
- a predicted span is *correct* when it overlaps a gold span of its type; ``fp`` counts the
  predicted spans that are not, so precision = (predicted - fp) / predicted;
- F2 weighs recall twice as much as precision: a missed name leaks, an extra placeholder
  only costs a little context.

Dataset types map onto ours in `DATASET_TO_ENTITY`. Types listed in `OUT_OF_SCOPE` are
ignored on both sides: job titles and organisations are business data the agents need and we
deliberately do not detect them; generic dates are kept (only dates of birth are scrubbed and
the dataset does not mark those); ages, nationalities, domain names and US driver's licences
are not scrubbed by TalentSync; nor are cities and countries (GPE), which the scrubber keeps
as business data (work site, trips) while home addresses stay in scope as STREET_ADDRESS.
``python -m evals.fitting.pii --with-location`` prints a second table with GPE scored as
LOCATION (and the scrubber replacing it), so the effect of that choice stays visible.
Predicted types outside the mapped set (EMPLOYEE_ID,
DATE_OF_BIRTH, DATE_TIME) have no gold labels here and are not counted either way.

The dataset has no per-record identity, so this measures the analyzer without the deny-list:
the honest floor of what NER and patterns catch on their own.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from evals.metric_targets import PII_RECALL_TYPES
from pii.analyzer import DEFAULT_SCORE_THRESHOLD, LANGUAGE
from pii.findings import Finding
from pii.scrubber import Scrubber

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine

logger = logging.getLogger(__name__)

DEFAULT_DATASET = Path(__file__).parent / "datasets" / "pii" / "presidio_synth.dev.json"

DATASET_TO_ENTITY: dict[str, str] = {
    "PERSON": "PERSON",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "US_SSN": "US_SSN",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN_CODE",
    "IP_ADDRESS": "IP_ADDRESS",
    "STREET_ADDRESS": "STREET_ADDRESS",
    "ZIP_CODE": "STREET_ADDRESS",  # a postcode is part of an address
}
OUT_OF_SCOPE: frozenset[str] = frozenset(
    {
        "ORGANIZATION",
        "TITLE",
        "DATE_TIME",
        "AGE",
        "NRP",
        "DOMAIN_NAME",
        "US_DRIVER_LICENSE",
        # cities and countries: the scrubber keeps LOCATION (see `DEFAULT_OPERATORS` in
        # pii.scrubber): a place name alone is the work site or a trip, business data
        # with structured site fields in the canonical model, and identifies no one. Home
        # addresses stay in scope as STREET_ADDRESS. `--with-location` scores them anyway.
        "GPE",
    }
)
LOCATION_SCOPE: dict[str, str] = {"GPE": "LOCATION"}
"""The mapping `--with-location` adds, with the scrubber told to replace LOCATION."""
IN_SCOPE: frozenset[str] = frozenset(DATASET_TO_ENTITY.values())
TARGET_RECALL_TYPES: tuple[str, ...] = PII_RECALL_TYPES
"""The types with a recall target; defined in evals.metric_targets, which reports read
without loading Presidio."""


@dataclass(frozen=True)
class Span:
    entity_type: str
    start: int
    end: int

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Example:
    text: str
    spans: tuple[Span, ...]
    template_id: int | None = None


@dataclass
class EntityScore:
    support: int = 0
    tp: int = 0  # gold spans found
    fn: int = 0  # gold spans missed
    predicted: int = 0
    fp: int = 0  # predicted spans matching no gold span of their type

    @property
    def precision(self) -> float:
        return (self.predicted - self.fp) / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.tp / self.support if self.support else 1.0

    @property
    def f2(self) -> float:
        p, r = self.precision, self.recall
        return 5 * p * r / (4 * p + r) if p + r else 0.0

    def add(self, other: EntityScore) -> None:
        self.support += other.support
        self.tp += other.tp
        self.fn += other.fn
        self.predicted += other.predicted
        self.fp += other.fp


@dataclass
class Miss:
    """A missed gold span or a false prediction, kept for error analysis."""

    kind: str  # "fn" | "fp"
    entity_type: str
    value: str
    text: str


@dataclass
class PIIReport:
    per_entity: dict[str, EntityScore]
    overall: EntityScore
    examples: int
    misses: list[Miss] = field(default_factory=list)

    def meets_targets(self, recall: float = 0.90, f2: float = 0.85) -> bool:
        recalls_ok = all(
            self.per_entity[t].recall >= recall for t in TARGET_RECALL_TYPES if t in self.per_entity
        )
        return recalls_ok and self.overall.f2 >= f2


def load_examples(path: Path | str = DEFAULT_DATASET) -> list[Example]:
    """Read presidio-research's JSON (``full_text`` + ``spans`` with start/end positions)."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    return [
        Example(
            text=item["full_text"],
            spans=tuple(
                Span(span["entity_type"], span["start_position"], span["end_position"])
                for span in item["spans"]
            ),
            template_id=item.get("template_id"),
        )
        for item in raw
    ]


Predictor = Callable[[str], list[Span]]


def _predictor(subject: Scrubber | AnalyzerEngine) -> Predictor:
    if isinstance(subject, Scrubber):
        scrubber = subject

        def predict_resolved(text: str) -> list[Span]:
            return [_span(f) for f in scrubber.find(text, identity=None)]

        return predict_resolved

    analyzer = subject

    def predict_raw(text: str) -> list[Span]:
        results = analyzer.analyze(text, language=LANGUAGE, score_threshold=DEFAULT_SCORE_THRESHOLD)
        return [Span(r.entity_type, r.start, r.end) for r in results]

    return predict_raw


def _span(finding: Finding) -> Span:
    return Span(finding.entity_type, finding.start, finding.end)


def evaluate(
    subject: Scrubber | AnalyzerEngine,
    examples: Iterable[Example],
    mapping: dict[str, str] | None = None,
) -> PIIReport:
    """Score a scrubber (resolved spans, as scrubbing sees them) or a bare analyzer.

    ``mapping`` (dataset type -> ours) defaults to `DATASET_TO_ENTITY`; the types it maps
    to are the ones scored on both sides.
    """
    mapping = DATASET_TO_ENTITY if mapping is None else mapping
    in_scope = frozenset(mapping.values())
    predict = _predictor(subject)
    per_entity: dict[str, EntityScore] = defaultdict(EntityScore)
    misses: list[Miss] = []
    count = 0
    for example in examples:
        count += 1
        gold = [
            Span(mapping[s.entity_type], s.start, s.end)
            for s in example.spans
            if s.entity_type in mapping
        ]
        predicted = [p for p in predict(example.text) if p.entity_type in in_scope]
        for span in gold:
            score = per_entity[span.entity_type]
            score.support += 1
            if any(p.entity_type == span.entity_type and p.overlaps(span) for p in predicted):
                score.tp += 1
            else:
                score.fn += 1
                misses.append(_miss("fn", span, example.text))
        for span in predicted:
            score = per_entity[span.entity_type]
            score.predicted += 1
            if not any(g.entity_type == span.entity_type and g.overlaps(span) for g in gold):
                score.fp += 1
                misses.append(_miss("fp", span, example.text))
    overall = EntityScore()
    for score in per_entity.values():
        overall.add(score)
    return PIIReport(dict(sorted(per_entity.items())), overall, count, misses)


def _miss(kind: str, span: Span, text: str) -> Miss:
    return Miss(kind, span.entity_type, text[span.start : span.end], text)


def render(report: PIIReport, console: Console, title: str = "") -> None:
    table = Table(title=title or f"PII detection, {report.examples} examples (no deny-list)")
    for column in ("entity", "precision", "recall", "F2", "tp", "fp", "fn", "support"):
        table.add_column(column, justify="left" if column == "entity" else "right")
    rows: list[tuple[str, EntityScore]] = [*report.per_entity.items(), ("overall", report.overall)]
    for name, score in rows:
        low = name in TARGET_RECALL_TYPES and score.recall < 0.90
        table.add_row(
            name,
            f"{score.precision:.3f}",
            f"[red]{score.recall:.3f}[/red]" if low else f"{score.recall:.3f}",
            f"{score.f2:.3f}",
            str(score.tp),
            str(score.fp),
            str(score.fn),
            str(score.support),
            style="bold" if name == "overall" else None,
        )
    console.print(table)
    verdict = "met" if report.meets_targets() else "NOT met"
    console.print(f"Targets (recall >= 0.90 per key type, overall F2 >= 0.85): {verdict}")
