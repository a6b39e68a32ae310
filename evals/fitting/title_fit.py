"""Fitting the title ranker's shipped constants: fusion weights, the reranker and the
confidence calibration, on exact evidence of every fit query over every role.

The protocol (which rows fit what, what is reported where) is in `evals.fitting.titles`,
which calls these.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.title_text import normalise_title
from evals.embedding_cache import CACHE
from evals.fitting.logistic import LogisticSettings, fit_logistic_monotone
from evals.title_examples import Example
from tools.titles.adapter import TitleAdapter
from tools.titles.components import COMPONENTS, RankerWeights
from tools.titles.confidence import Calibration, confidence_features
from tools.titles.ranker import TitleRanker
from tools.titles.rerank import RERANK_DEPTH, Reranker, interaction_features

logger = logging.getLogger(__name__)

TARGET_PRECISION = 0.8
CALIBRATION_FIT = LogisticSettings(ridge=1e-3, penalise_bias=True, iterations=50)

FloatArray = npt.NDArray[np.float32]


def threshold_for_precision(conf: FloatArray, correct: npt.NDArray[np.bool_]) -> float:
    """Lowest confidence threshold whose accepted set reaches the target precision."""
    order = np.argsort(-conf, kind="stable")
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(precision >= TARGET_PRECISION)
    if ok.size == 0:
        return float("inf")
    return float(conf[order][ok[-1]])


@dataclass
class FitTable:
    """Exact evidence of every fit query over every role, and each query's gold role."""

    comps: npt.NDArray[np.float16]
    """(queries, components, roles); float16 halves the ~300 MB of a 3,000-query table."""
    gold: npt.NDArray[np.int64]


def collect_fit_table(ranker: TitleRanker, examples: Sequence[Example]) -> FitTable:
    index = {rid: i for i, rid in enumerate(ranker.role_ids)}
    blocks = []
    for start in range(0, len(examples), 256):
        parsed = [normalise_title(e.title) for e in examples[start : start + 256]]
        comps = ranker.components_batch(parsed, ranker.embed_titles(parsed), exact=True)
        blocks.append(comps.astype(np.float16))
    gold = np.asarray([index[e.role_id] for e in examples], dtype=np.int64)
    return FitTable(np.concatenate(blocks), gold)


def cached_adapter(
    name: str, inputs: Sequence[npt.NDArray[np.generic]], fit: Callable[[], TitleAdapter]
) -> TitleAdapter:
    """Fitting an adapter takes one to three minutes on one core; keep it on disk, keyed by
    the arrays it is fitted from."""
    digest = hashlib.sha256()
    for array in inputs:
        digest.update(np.ascontiguousarray(array).tobytes())
    path = CACHE / f"title-adapter-{name}-{digest.hexdigest()[:16]}.npy"
    if path.exists():
        return TitleAdapter(np.load(path))
    adapter = fit()
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, adapter.matrix)
    return adapter


def catalog_adapter(ranker: TitleRanker, vectors: FloatArray) -> TitleAdapter:
    return cached_adapter("catalog", [vectors], ranker.fit_catalog_adapter)


def memory_adapter(ranker: TitleRanker, memory: Sequence[Example]) -> TitleAdapter:
    key = "\n".join(f"{e.title}\t{e.role_id}" for e in memory).encode()
    adapter = cached_adapter("memory", [np.frombuffer(key, dtype=np.uint8)], ranker.fit_adapter)
    ranker.adapter = adapter
    return adapter


def without_adapter(table: FitTable) -> FitTable:
    """The same evidence as if no adapter were set (its component is 0 everywhere)."""
    comps = table.comps.copy()
    comps[:, COMPONENTS.index("adapted_embedding")] = 0
    return FitTable(comps, table.gold)


def gold_ranks(fused: FloatArray, gold: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """1-based rank of each gold role, with ties broken as ``TitleRanker.rank`` does (lower
    role index first): a constant component cannot make a tie look like a hit."""
    gold_score = fused[np.arange(len(gold)), gold][:, None]
    before = np.arange(fused.shape[1])[None, :] < gold[:, None]
    ahead = (fused > gold_score) | ((fused == gold_score) & before)
    ranks: npt.NDArray[np.int64] = ahead.sum(axis=1).astype(np.int64) + 1
    return ranks


def fit_softmax(table: FitTable, free: Sequence[int], ridge: float = 1e-3) -> FloatArray:
    """Weights maximising the likelihood of the gold role under a softmax over all roles
    (listwise, convex): Newton's method with backtracking on the free components."""
    comps = table.comps[:, list(free), :].astype(np.float32)
    n = len(table.gold)
    rows = np.arange(n)
    gold = comps[rows, :, table.gold]

    def loss(w: npt.NDArray[np.float64]) -> float:
        logits = np.einsum("c,qcr->qr", w, comps)
        top = logits.max(axis=1)
        lse = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
        return float((lse - gold @ w).mean() + 0.5 * ridge * w @ w)

    w = np.zeros(len(free))
    for _ in range(40):
        logits = np.einsum("c,qcr->qr", w, comps)
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        mean = np.einsum("qr,qcr->qc", p, comps)
        grad = (mean - gold).mean(axis=0) + ridge * w
        second = np.einsum("qr,qcr,qdr->cd", p, comps, comps, optimize=True) / n
        hessian = second - mean.T @ mean / n + ridge * np.eye(len(free))
        step = np.linalg.solve(hessian, grad)
        current, t = loss(w), 1.0
        while loss(w - t * step) > current and t > 1e-4:
            t /= 2
        w -= t * step
        if np.abs(t * step).max() < 1e-5:
            break
    weights = np.zeros(table.comps.shape[1], dtype=np.float32)
    weights[list(free)] = w
    return weights


def refine_mrr(comps: FloatArray, gold: npt.NDArray[np.int64], weights: FloatArray) -> FloatArray:
    """Coordinate ascent on MRR from the softmax solution: the likelihood spreads its
    attention over all ranks, MRR is what the reviewer sees."""

    def mrr(w: FloatArray) -> float:
        return float(np.mean(1.0 / gold_ranks(np.einsum("c,qcr->qr", w, comps), gold)))

    best, score = weights.copy(), mrr(weights)
    for _ in range(2):
        improved = False
        for c in np.flatnonzero(weights):
            for factor in (0.0, 0.5, 0.8, 1.25, 2.0):
                trial = best.copy()
                trial[c] *= factor
                value = mrr(trial)
                if value > score + 1e-4:
                    best, score, improved = trial, value, True
        if not improved:
            break
    return best


def fit_reranker(
    table: FitTable, fused: FloatArray, ridge: float = 1e-2
) -> tuple[Reranker, FloatArray]:
    """The second stage over each row's RERANK_DEPTH best roles by ``fused``, and the final
    scores it gives the fit rows. Features are standardised for the fit (the products span
    orders of magnitude), then the scaling is folded into the weights."""
    depth = min(RERANK_DEPTH, fused.shape[1])
    top = np.argsort(-fused, axis=1, kind="stable")[:, :depth]
    blocks = [
        interaction_features(table.comps[q][:, top[q]].astype(np.float32)) for q in range(len(top))
    ]
    features = np.stack(blocks)  # (rows, depth, features)
    hit = top == table.gold[:, None]
    usable = hit.any(axis=1)
    rows = features[usable].reshape(-1, features.shape[2])
    mean, scale = rows.mean(axis=0), rows.std(axis=0)
    scale = np.where(scale > 1e-6, scale, 1.0)
    standard = ((features[usable] - mean) / scale).transpose(0, 2, 1)
    gold = np.argmax(hit[usable], axis=1)
    weights = fit_softmax(
        FitTable(standard.astype(np.float32), gold), range(standard.shape[1]), ridge
    )
    reranker = Reranker((weights / scale).astype(np.float32))
    final = np.stack(
        [reranker.rerank(f, table.comps[q].astype(np.float32)) for q, f in enumerate(fused)]
    )
    return reranker, final


def fit(table: FitTable, warm: bool) -> tuple[RankerWeights, Reranker, Calibration, float]:
    """Fusion weights (softmax over roles, refined on MRR), the reranker on their best
    roles, then the logistic confidence on the same rows."""
    free = [c for c, name in enumerate(COMPONENTS) if warm or not name.startswith("memory_")]
    comps = table.comps.astype(np.float32)
    weights = refine_mrr(comps, table.gold, fit_softmax(table, free))
    fused = np.einsum("c,qcr->qr", weights, comps)
    linear_mrr = float(np.mean(1.0 / gold_ranks(fused, table.gold)))
    reranker, final = fit_reranker(table, fused)
    ranks = gold_ranks(final, table.gold)
    mrr = float(np.mean(1.0 / ranks))
    correct = ranks == 1
    features = np.stack([confidence_features(f, c) for f, c in zip(final, comps, strict=True)])
    coef = fit_logistic_monotone(features.astype(np.float32), correct, CALIBRATION_FIT)
    calibration = Calibration(float(coef[0]), tuple(float(c) for c in coef[1:]), 0.5)
    conf = np.asarray([calibration.confidence(f) for f in features], dtype=np.float32)
    threshold = threshold_for_precision(conf, correct)
    calibration = Calibration(calibration.bias, calibration.coefficients, threshold)
    fitted = RankerWeights.from_array([round(float(v), 3) for v in weights])
    logger.info(
        "fitted %s %s (fit MRR %.3f linear, %.3f reranked)", fitted, calibration, linear_mrr, mrr
    )
    return fitted, reranker, calibration, mrr
