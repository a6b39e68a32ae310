"""The one shape every evaluation suite has: options in, per-example records and metrics out.

Why one interface: the runner, the stored runs, `compare`, the report and the gate handle any
suite the same way. A suite names its headline metrics (`evals.suites.headlines`) as
statistics over its per-example records, so confidence intervals and paired comparisons need
no suite-specific code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from evals.suites.headlines import Headline

Record = dict[str, Any]
Progress = Callable[[int, int], None]
"""Called with (done, total) as examples finish; the CLI draws its progress bar from it."""


@dataclass
class RunOptions:
    """Everything a suite may be told; `None` means the suite's default."""

    dataset: Path
    catalog: Path | None = None
    memory: Path | None = None
    mapper: str = "embedded"
    prompt: str = "title_mapping@1"
    model: str | None = None
    limit: int | None = None
    seed: int = 20260101
    chat_model: BaseChatModel | None = None
    """A chat model injected by code (tests, scripted gate runs) instead of ``model``."""
    adapter: str = "none"
    """Title adapter the ranker runs with, as ``talentsync titles fit-adapter`` would fit it:
    ``none``, ``catalog`` (the catalog's labels) or ``memory`` (the approved history)."""

    def reproducible(self) -> dict[str, Any]:
        """The options as stored with a run (an injected model is named, not serialised)."""
        return {
            "dataset": str(self.dataset),
            "catalog": str(self.catalog) if self.catalog else None,
            "memory": str(self.memory) if self.memory else None,
            "mapper": self.mapper,
            "prompt": self.prompt,
            "model": self.model,
            "limit": self.limit,
            "seed": self.seed,
            "adapter": self.adapter,
            "injected_model": type(self.chat_model).__name__ if self.chat_model else None,
        }


@dataclass
class SuiteResult:
    records: list[Record]
    metrics: dict[str, float | None]
    counts: dict[str, int] = field(default_factory=dict)
    prompt: str | None = None
    """The prompt ref with hash (``id@N#hash``) when a model saw a prompt."""
    model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Suite(Protocol):
    name: str
    headlines: tuple[Headline, ...]

    def run(self, options: RunOptions, progress: Progress) -> SuiteResult: ...


def sample(rows: Sequence[Any], limit: int | None, seed: int) -> list[Any]:
    """A seeded random subset (the whole file, shuffled, without a limit): a limit must not
    mean "the first rows", which in most files are sorted by role or source."""
    order = np.random.default_rng(seed).permutation(len(rows))
    chosen = [rows[i] for i in order]
    return chosen[:limit] if limit else chosen


def finite(value: float) -> float | None:
    """JSON has no NaN: an undefined metric is stored as null."""
    return None if math.isnan(value) else float(value)
