"""The queue's rule and flag filters as pick lists: a reviewer chooses from the values that
exist instead of guessing how a rule id is spelt, and sees how many reviews carry each."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    value: str
    count: int

    @property
    def label(self) -> str:
        return f"{self.value} ({self.count})"


def choices(known: Iterable[str], counts: Mapping[str, int], current: str) -> list[Choice]:
    """The known values in their own order (policy order for rules), then values seen only
    on reviews (a rule since dropped from the policy), then the applied filter if it is
    neither: the list always shows what is applied, so it never looks unfiltered."""
    values = list(dict.fromkeys([*known, *sorted(counts)]))
    if current and current not in values:
        values.append(current)
    return [Choice(value, counts.get(value, 0)) for value in values]
