"""The eval metrics against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evals.metrics import (
    abstention_precision_recall,
    bootstrap_interval,
    calibration_bins,
    coverage_at_precision,
    estimated_cost,
    expected_calibration_error,
    fbeta,
    latency_percentiles,
    mrr,
    paired_bootstrap_delta,
    precision_coverage_curve,
    precision_recall_fbeta,
    ratio_statistic,
    recall_at_k,
    top1,
)

RANKS = [1, 2, 0, 1, 5, 3]


def test_rank_metrics() -> None:
    assert top1(RANKS) == pytest.approx(2 / 6)
    assert recall_at_k(RANKS, 1) == pytest.approx(2 / 6)
    assert recall_at_k(RANKS, 3) == pytest.approx(4 / 6)
    assert recall_at_k(RANKS, 5) == pytest.approx(5 / 6)
    # (1 + 1/2 + 0 + 1 + 1/5 + 1/3) / 6 = 3.0333.../6
    assert mrr(RANKS) == pytest.approx((1 + 0.5 + 0 + 1 + 0.2 + 1 / 3) / 6)
    assert math.isnan(top1([]))


def test_abstention_precision_recall() -> None:
    abstained = [True, True, False, False, True]
    should = [True, False, True, False, True]
    precision, recall = abstention_precision_recall(abstained, should)
    assert precision == pytest.approx(2 / 3)
    assert recall == pytest.approx(2 / 3)
    p, r = abstention_precision_recall([False, False], [False, False])
    assert math.isnan(p) and math.isnan(r)


def test_coverage_at_precision() -> None:
    conf = [0.9, 0.8, 0.7, 0.6, 0.5]
    correct = [True, True, False, True, False]
    # accepted k=1..5: precision 1, 1, 2/3, 3/4, 3/5
    coverage, precision = precision_coverage_curve(conf, correct)
    assert coverage.tolist() == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert precision.tolist() == pytest.approx([1, 1, 2 / 3, 3 / 4, 3 / 5])
    assert coverage_at_precision(conf, correct, 0.8) == pytest.approx(0.4)
    assert coverage_at_precision(conf, correct, 0.75) == pytest.approx(0.8)
    assert coverage_at_precision(conf, [False] * 5, 0.8) == 0.0


def test_coverage_treats_ties_as_one_block() -> None:
    # a threshold cannot split the tied 0.9s: accepting them gives precision 1/2
    coverage, precision = precision_coverage_curve([0.9, 0.9, 0.5], [True, False, True])
    assert coverage.tolist() == pytest.approx([2 / 3, 1.0])
    assert precision.tolist() == pytest.approx([0.5, 2 / 3])
    assert coverage_at_precision([0.9, 0.9, 0.5], [True, False, True], 0.8) == 0.0


def test_expected_calibration_error() -> None:
    conf = [0.95, 0.95, 0.15, 0.15, 1.0]
    correct = [True, False, False, False, True]
    # bin 9 (0.9-1.0]: conf mean (0.95+0.95+1.0)/3 = 0.9667, accuracy 2/3; weight 3/5
    # bin 1 [0.1-0.2): conf 0.15, accuracy 0; weight 2/5
    expected = 3 / 5 * abs(2 / 3 - 2.9 / 3) + 2 / 5 * 0.15
    assert expected_calibration_error(conf, correct) == pytest.approx(expected)
    mean_conf, accuracy, counts = calibration_bins(conf, correct)
    assert counts.tolist() == [0, 2, 0, 0, 0, 0, 0, 0, 0, 3]
    assert accuracy[9] == pytest.approx(2 / 3)
    assert math.isnan(float(mean_conf[0]))


def test_latency_and_cost() -> None:
    p50, p95 = latency_percentiles([10, 20, 30, 40, 100])
    assert p50 == 30
    assert p95 == pytest.approx(40 + 0.8 * 60)  # index 3.8 between 40 and 100
    prices = {"m": {"input": 0.15, "output": 0.6}}
    assert estimated_cost("m", 2_000_000, 500_000, prices) == pytest.approx(0.3 + 0.3)
    assert estimated_cost("unknown", 10, 10, prices) is None
    assert estimated_cost(None, 10, 10, prices) == 0.0


def test_precision_recall_f2() -> None:
    p, r, f2 = precision_recall_fbeta(tp=8, fp=2, fn=4)
    assert p == pytest.approx(0.8)
    assert r == pytest.approx(8 / 12)
    assert f2 == pytest.approx(5 * 0.8 * (2 / 3) / (4 * 0.8 + 2 / 3))
    assert fbeta(0.0, 0.0) == 0.0


def test_bootstrap_is_seeded_and_covers_the_estimate() -> None:
    values = [1.0] * 70 + [0.0] * 30
    stat = ratio_statistic(values, None)
    a = bootstrap_interval(stat, len(values), seed=1)
    b = bootstrap_interval(stat, len(values), seed=1)
    assert a == b
    assert a.low < 0.7 < a.high
    assert a.low > 0.55 and a.high < 0.85
    constant = bootstrap_interval(ratio_statistic([1.0] * 10, None), 10)
    assert (constant.low, constant.high) == (1.0, 1.0)


def test_ratio_statistic_sums_then_divides() -> None:
    stat = ratio_statistic([1, 0, 3], [2, 0, 4])
    assert stat(np.arange(3)) == pytest.approx(4 / 6)
    assert stat(np.asarray([0, 0])) == pytest.approx(0.5)


def test_paired_bootstrap_detects_a_consistent_difference() -> None:
    a = ratio_statistic([1.0] * 50 + [0.0] * 50, None)
    b = ratio_statistic([1.0] * 80 + [0.0] * 20, None)  # 30 examples fixed, none broken
    delta = paired_bootstrap_delta(a, b, 100)
    assert delta.excludes_zero()
    assert delta.low > 0.2 and delta.high < 0.4
    same = paired_bootstrap_delta(a, a, 100)
    assert not same.excludes_zero()
