"""Spans of personal data: what the recognizers propose, and what stands once overlapping
ones are merged into one span each (what the scrubber replaces)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One span of personal data after overlaps were resolved."""

    entity_type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Candidate:
    """A recognizer's span before overlaps are resolved; `from_record`: the record's own value."""

    entity_type: str
    start: int
    end: int
    score: float
    from_record: bool

    def rank(self) -> tuple[bool, int, float]:
        # the record's own values are certain; then the longer span, which is usually the
        # whole entity ("221B Baker St" over NER's "Baker St"); then confidence
        return (self.from_record, self.end - self.start, self.score)


def resolve_overlaps(candidates: Iterable[Candidate]) -> list[Finding]:
    """Merge overlapping findings into one span typed by the strongest of them.

    Merging (not discarding the losers) means a partial overlap, say NER's "Priya Patel
    Smith" against the deny-list's "Priya Patel", still removes "Smith".
    """
    findings: list[Finding] = []
    for group in _overlapping_groups(sorted(candidates, key=lambda c: (c.start, -c.end))):
        best = max(group, key=Candidate.rank)
        findings.append(
            Finding(
                entity_type=best.entity_type,
                start=min(c.start for c in group),
                end=max(c.end for c in group),
                score=best.score,
            )
        )
    return findings


def _overlapping_groups(candidates: Sequence[Candidate]) -> Iterator[list[Candidate]]:
    """Runs of candidates (sorted by start) whose spans chain-overlap."""
    group: list[Candidate] = []
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
