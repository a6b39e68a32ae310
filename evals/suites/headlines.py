"""A suite's headline metrics, each a statistic over its per-example records.

A headline knows how to recompute itself on any subset of the records (the indices a
bootstrap resample draws), so confidence intervals and paired comparisons need no
suite-specific code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evals.metrics import Statistic, coverage_at_precision, ratio_statistic
from evals.suites.base import Record


@dataclass(frozen=True)
class Headline:
    """A metric with an interval: how to recompute it on any subset of the records."""

    name: str
    build: Callable[[Sequence[Record]], Statistic]
    higher_is_better: bool = True


def mean_of(name: str, fieldname: str, *, higher_is_better: bool = True) -> Headline:
    return Headline(
        name,
        lambda records: ratio_statistic([float(r[fieldname]) for r in records], None),
        higher_is_better,
    )


def ratio_of(
    name: str, numerator: str, denominator: str, *, higher_is_better: bool = True
) -> Headline:
    return Headline(
        name,
        lambda records: ratio_statistic(
            [float(r[numerator]) for r in records], [float(r[denominator]) for r in records]
        ),
        higher_is_better,
    )


def coverage_headline(name: str, target: float) -> Headline:
    def build(records: Sequence[Record]) -> Statistic:
        conf = np.asarray([float(r["confidence"]) for r in records])
        ok = np.asarray([bool(r["correct"]) for r in records])

        def statistic(idx: Any) -> float:
            return coverage_at_precision(conf[idx], ok[idx], target) if len(idx) else math.nan

        return statistic

    return Headline(name, build)
