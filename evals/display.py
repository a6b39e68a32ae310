"""How a metric value is written for people (report.md, report.html, the CLI's tables).

Counts, tokens and calls are stored as floats (JSON numbers, one type per metrics map), which
printed ``915.0000``. Rates and scores live in [0, 1], so a whole number above 1 is a count
and is written as one; 0 and 1 stay ``0.0000``/``1.0000`` beside the other rates unless the
metric's name says it counts (``failed_calls`` 1 is one call, not a rate of 100%).
"""

from __future__ import annotations

import math

_COUNT_SUFFIXES = ("_calls", "_tokens", "_count", "examples")


def is_count(name: str) -> bool:
    return name.endswith(_COUNT_SUFFIXES)


def format_metric(value: object, *, name: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if value.is_integer() and (abs(value) > 1 or is_count(name)):
            return f"{int(value):,}"
        return f"{value:.4f}"
    return str(value)
