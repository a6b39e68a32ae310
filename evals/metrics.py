"""Evaluation metrics in plain numpy, shared by every suite, the gate and the reports.

Why our own and not a metrics library: each definition here is a few lines, the unit tests
pin them to hand-computed values, and a suite, a comparison and the gate must agree on the
exact same arithmetic (ties, empty sets, bin edges) or a "regression" is only a definition
change.

Conventions: ranks are 1-based and 0 means "not in the list"; ratios of empty sets are NaN
(not 0 or 1) so an empty slice never looks perfect or broken; confidence intervals come
from a seeded bootstrap so the same run gives the same interval.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

DEFAULT_PRICES = Path(__file__).parent / "prices.json"
BOOTSTRAP_RESAMPLES = 1000
DEFAULT_SEED = 20260101


def _ranks(ranks: Sequence[int] | IntArray) -> IntArray:
    return np.asarray(ranks, dtype=np.int64)


def top1(ranks: Sequence[int] | IntArray) -> float:
    """Share of examples whose gold answer is ranked first."""
    r = _ranks(ranks)
    return float(np.mean(r == 1)) if r.size else math.nan


def recall_at_k(ranks: Sequence[int] | IntArray, k: int) -> float:
    """Share of examples whose gold answer is among the first ``k`` (rank 0: absent)."""
    r = _ranks(ranks)
    return float(np.mean((r >= 1) & (r <= k))) if r.size else math.nan


def reciprocal_ranks(ranks: Sequence[int] | IntArray) -> FloatArray:
    r = _ranks(ranks)
    return np.where(r >= 1, 1.0 / np.maximum(r, 1), 0.0).astype(np.float64)


def mrr(ranks: Sequence[int] | IntArray) -> float:
    """Mean reciprocal rank; an absent gold answer counts 0."""
    r = reciprocal_ranks(ranks)
    return float(r.mean()) if r.size else math.nan


def metrics_from_ranks(ranks: Sequence[int] | IntArray) -> tuple[float, float, float]:
    """Top-1, recall@5 and MRR in one call, as the fitting scripts report them."""
    return top1(ranks), recall_at_k(ranks, 5), mrr(ranks)


def safe_ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def abstention_precision_recall(
    abstained: Sequence[bool] | BoolArray, should_abstain: Sequence[bool] | BoolArray
) -> tuple[float, float]:
    """Precision: of the abstentions, how many were right to abstain; recall: of the
    examples that should be abstained on, how many were."""
    a = np.asarray(abstained, dtype=bool)
    s = np.asarray(should_abstain, dtype=bool)
    both = float(np.sum(a & s))
    return safe_ratio(both, float(a.sum())), safe_ratio(both, float(s.sum()))


def precision_coverage_curve(
    confidence: Sequence[float] | FloatArray, correct: Sequence[bool] | BoolArray
) -> tuple[FloatArray, FloatArray]:
    """Accepting the k most confident examples, for k = 1..n: (coverage, precision).

    Ties in confidence are accepted together (a threshold cannot split them), so a tied
    block contributes one point with the precision of the whole block."""
    conf = np.asarray(confidence, dtype=np.float64)
    ok = np.asarray(correct, dtype=bool)
    n = conf.size
    if n == 0:
        return np.zeros(0), np.zeros(0)
    order = np.argsort(-conf, kind="stable")
    sorted_conf = conf[order]
    hits = np.cumsum(ok[order])
    # the last index of each tied block: the only places a threshold can stop
    ends = np.flatnonzero(np.r_[sorted_conf[1:] != sorted_conf[:-1], True])
    accepted = ends + 1
    return accepted / n, hits[ends] / accepted


def coverage_at_precision(
    confidence: Sequence[float] | FloatArray,
    correct: Sequence[bool] | BoolArray,
    target: float = 0.8,
) -> float:
    """Largest share of examples that can be auto-applied, ranked by confidence, while the
    accepted set keeps precision >= ``target`` (0 when even the most confident fail)."""
    coverage, precision = precision_coverage_curve(confidence, correct)
    ok = precision >= target - 1e-12
    return float(coverage[ok].max()) if ok.any() else 0.0


def calibration_bins(
    confidence: Sequence[float] | FloatArray, correct: Sequence[bool] | BoolArray, bins: int = 10
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Per equal-width bin on [0, 1]: mean confidence, accuracy (NaN when empty), count.
    A confidence of exactly 1.0 falls in the last bin."""
    conf = np.clip(np.asarray(confidence, dtype=np.float64), 0.0, 1.0)
    ok = np.asarray(correct, dtype=np.float64)
    index = np.minimum((conf * bins).astype(np.int64), bins - 1)
    counts = np.bincount(index, minlength=bins).astype(np.int64)
    conf_sum = np.bincount(index, weights=conf, minlength=bins)
    ok_sum = np.bincount(index, weights=ok, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return conf_sum / counts, ok_sum / counts, counts


def expected_calibration_error(
    confidence: Sequence[float] | FloatArray, correct: Sequence[bool] | BoolArray, bins: int = 10
) -> float:
    """Sum over bins of (bin share) * |accuracy - mean confidence|."""
    mean_conf, accuracy, counts = calibration_bins(confidence, correct, bins)
    n = counts.sum()
    if n == 0:
        return math.nan
    filled = counts > 0
    return float(np.sum(counts[filled] / n * np.abs(accuracy[filled] - mean_conf[filled])))


def latency_percentiles(latencies_ms: Sequence[float] | FloatArray) -> tuple[float, float]:
    """p50 and p95 with linear interpolation (numpy's default)."""
    values = np.asarray(latencies_ms, dtype=np.float64)
    if values.size == 0:
        return math.nan, math.nan
    p50, p95 = np.percentile(values, [50, 95])
    return float(p50), float(p95)


def load_prices(path: Path = DEFAULT_PRICES) -> dict[str, dict[str, float]]:
    raw: dict[str, dict[str, float]] = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in raw.items() if not k.startswith("_")}


def estimated_cost(
    model: str | None,
    input_tokens: int,
    output_tokens: int,
    prices: Mapping[str, Mapping[str, float]] | None = None,
) -> float | None:
    """USD from a price table of USD per 1M input/output tokens; None for an unknown model
    (an unknown price is not a free one). No model at all (offline mapper) costs 0."""
    if model is None:
        return 0.0
    table = load_prices() if prices is None else prices
    price = table.get(model)
    if price is None:
        return None
    return (input_tokens * price["input"] + output_tokens * price["output"]) / 1_000_000


def fbeta(precision: float, recall: float, beta: float = 2.0) -> float:
    """F-beta from precision and recall (F2 weighs recall twice: a missed name leaks, an
    extra placeholder only costs context); 0 when both are 0, NaN when either is undefined."""
    if math.isnan(precision) or math.isnan(recall):
        return math.nan
    if precision + recall == 0:
        return 0.0
    b2 = beta * beta
    return (1 + b2) * precision * recall / (b2 * precision + recall)


def precision_recall_fbeta(
    tp: int, fp: int, fn: int, beta: float = 2.0
) -> tuple[float, float, float]:
    """Precision, recall and F-beta from counts."""
    p = safe_ratio(tp, tp + fp)
    r = safe_ratio(tp, tp + fn)
    return p, r, fbeta(p, r, beta)


# -- bootstrap ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def as_list(self) -> list[float]:
        return [self.low, self.high]


Statistic = Callable[[IntArray], float]
"""A metric recomputed on a resample, given the indices of the examples drawn."""


def ratio_statistic(numerator: Sequence[float], denominator: Sequence[float] | None) -> Statistic:
    """sum(numerator) / sum(denominator) over the drawn examples (mean when no denominator):
    every headline metric of every suite has this shape."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.ones_like(num) if denominator is None else np.asarray(denominator, dtype=np.float64)

    def statistic(idx: IntArray) -> float:
        d = float(den[idx].sum())
        return float(num[idx].sum()) / d if d else math.nan

    return statistic


def _percentile_interval(resampled: Sequence[float], level: float) -> Interval:
    """The central ``level`` share of the resampled values (NaN draws dropped)."""
    values = np.asarray(resampled, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return Interval(math.nan, math.nan)
    alpha = (1 - level) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return Interval(float(low), float(high))


def bootstrap_interval(
    statistic: Statistic,
    n: int,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
) -> Interval:
    """Percentile bootstrap over examples, seeded: the same run gives the same interval."""
    if n == 0:
        return Interval(math.nan, math.nan)
    rng = np.random.default_rng(seed)
    values = [statistic(rng.integers(0, n, size=n)) for _ in range(resamples)]
    return _percentile_interval(values, level)


def paired_bootstrap_delta(
    statistic_a: Statistic,
    statistic_b: Statistic,
    n: int,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
) -> Interval:
    """Interval of (B - A) when both statistics index the same shared examples: each
    resample draws one set of examples and scores both runs on it, so per-example
    difficulty cancels out and small real differences become visible."""
    if n == 0:
        return Interval(math.nan, math.nan)
    rng = np.random.default_rng(seed)
    deltas = []
    for _ in range(resamples):
        idx = rng.integers(0, n, size=n)
        deltas.append(statistic_b(idx) - statistic_a(idx))
    return _percentile_interval(deltas, level)
