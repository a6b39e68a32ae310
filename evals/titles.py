"""Title -> role mapping quality on real data: JobBERT vacancy titles against ESCO.

    .venv/bin/python -m evals.titles [--fit-sample N] [--seed S]

Protocol (nothing is tuned on the rows it is reported on):

- The dev file is split by a seeded permutation into half A and half B.
- COLD (catalog labels only): fusion weights and the confidence calibration are fitted on
  queries from A; figures are reported on all of B.
- WARM (approved memory): A is the approved memory, B the queries. Weights/calibration are
  fitted inside A only (A1 as memory, queries from A2); then the ranker gets all of A as
  memory and is scored on B.
- Coverage at precision >= 0.8: the confidence threshold is picked on the fit queries
  (lowest threshold whose accepted top-1 precision >= 0.8) and applied to B; we report the
  coverage and the precision it actually gets on B. "oracle" is the same threshold picked
  on B itself (the literal definition; optimistic).
- Fusion weights maximise the softmax likelihood of the gold role over all 2,942 roles
  (Newton's method, tiny ridge), on exact evidence; the calibration is a logistic fit of
  top-1 correctness on the same rows, with no negative coefficient
  (``evals.fitting.fit_logistic_monotone``). Reported figures use the ranker's own scoring
  path over all roles; ties count against the gold role when the ranker would list another
  role first.
- The reranker (``tools.titles.rerank``) is fitted after the fusion weights, on the same
  rows: listwise softmax over each row's RERANK_DEPTH best roles by the fitted fusion,
  standardised interaction features, ridge 0.01; rows whose gold role is not among them
  teach it nothing and are left out. The calibration is then fitted on the reranked scores.
  ``--write-rerankers`` stores the four profiles' rerankers in tools/titles/rerankers.json.
Adapter rows ("+ adapter"): the same components plus ``adapted_embedding`` (see
``tools.titles.adapter``), weights refitted with it on the same fit rows. Cold: the adapter
is learnt from ESCO labels only. Warm: it is learnt from the approved memory, i.e. from A1
while the weights are fitted on A2, then refitted on all of A before scoring B; it never
sees B. Adapters are cached under var/cache, keyed by the vectors they were fitted on.
Baselines on the same B rows: plain MiniLM nearest label (raw title vs raw ESCO preferred +
alt labels, best label per role) and exact lowercase string lookup.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from core.title_text import normalise_title
from evals.fitting import CACHE, cached_embeddings, fit_logistic_monotone, metrics_from_ranks
from tools.titles.adapter import TitleAdapter
from tools.titles.components import COMPONENTS, RankerWeights
from tools.titles.confidence import Calibration, confidence_features
from tools.titles.ranker import TitleRanker
from tools.titles.rerank import (
    RERANK_DEPTH,
    SHIPPED,
    Reranker,
    interaction_features,
    save_rerankers,
)
from vectorstore.embeddings import OfflineMiniLM, default_embedder
from vectorstore.roles import CatalogRole, load_esco_occupations

logger = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_TITLES = DATA / "jobbert" / "titles.dev.csv"
DEFAULT_CATALOG = DATA / "esco" / "occupations_en.csv"
TARGET_PRECISION = 0.8

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Example:
    title: str
    role_id: str


@dataclass(frozen=True)
class Scores:
    n: int
    top1: float
    recall5: float
    mrr: float
    coverage: float | None = None
    coverage_precision: float | None = None
    oracle_coverage: float | None = None


def load_examples(path: Path) -> list[Example]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [Example(r["vacancyTitle"].strip(), r["conceptUri"]) for r in csv.DictReader(handle)]


def label_vectors(roles: Sequence[CatalogRole], embedder: OfflineMiniLM) -> FloatArray:
    """Embedding ~33k labels takes ~45 s; cache them keyed by model and catalog content."""
    raw = [label for role in roles for _, label in role.labels()]
    return cached_embeddings(raw, embedder, name="esco-labels")


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
    coef = fit_logistic_monotone(
        features.astype(np.float32), correct, ridge=1e-3, penalise_bias=True, iterations=50
    )
    calibration = Calibration(float(coef[0]), tuple(float(c) for c in coef[1:]), 0.5)
    conf = np.asarray([calibration.confidence(f) for f in features], dtype=np.float32)
    threshold = threshold_for_precision(conf, correct)
    calibration = Calibration(calibration.bias, calibration.coefficients, threshold)
    fitted = RankerWeights.from_array([round(float(v), 3) for v in weights])
    logger.info(
        "fitted %s %s (fit MRR %.3f linear, %.3f reranked)", fitted, calibration, linear_mrr, mrr
    )
    return fitted, reranker, calibration, mrr


def score_ranker(ranker: TitleRanker, examples: Sequence[Example]) -> Scores:
    """The ranker's own path (reduced-space pass, exact shortlist, fusion, confidence) over
    all 2,942 roles, minus building candidate objects for them."""
    index = {rid: i for i, rid in enumerate(ranker.role_ids)}
    ranks = np.zeros(len(examples), dtype=np.int64)
    conf = np.zeros(len(examples), dtype=np.float32)
    for start in range(0, len(examples), 256):
        chunk = examples[start : start + 256]
        parsed = [normalise_title(e.title) for e in chunk]
        comps = ranker.components_batch(parsed, ranker.embed_titles(parsed))
        final = ranker.final_scores(comps)
        gold = np.asarray([index[e.role_id] for e in chunk], dtype=np.int64)
        ranks[start : start + len(chunk)] = gold_ranks(final, gold)
        for offset, (f, c) in enumerate(zip(final, comps, strict=True)):
            conf[start + offset] = ranker.calibration.confidence(confidence_features(f, c))
    top1, recall5, mrr = metrics_from_ranks(ranks)
    correct = ranks == 1
    accepted = conf >= ranker.calibration.abstain_below
    oracle = threshold_for_precision(conf, correct)
    return Scores(
        n=len(examples),
        top1=top1,
        recall5=recall5,
        mrr=mrr,
        coverage=float(accepted.mean()),
        coverage_precision=float(correct[accepted].mean()) if accepted.any() else float("nan"),
        oracle_coverage=float((conf >= oracle).mean()),
    )


def ranks_only(scores: Scores) -> Scores:
    """Without the coverage columns: for a row scored with a calibration fitted on other
    scores (the linear fusion alone, under the reranked profile's calibration)."""
    return Scores(scores.n, scores.top1, scores.recall5, scores.mrr)


def baseline_minilm(
    ranker: TitleRanker,
    roles: Sequence[CatalogRole],
    examples: Sequence[Example],
    vectors: FloatArray,
    memory: Sequence[Example] = (),
) -> Scores:
    """Raw title vs raw labels (and raw approved titles, when given), best entry per role:
    the published baseline's setup."""
    index = {rid: i for i, rid in enumerate(ranker.role_ids)}
    owners = np.asarray(
        [i for i, role in enumerate(roles) for _ in role.labels()]
        + [index[e.role_id] for e in memory],
        dtype=np.int64,
    )
    if memory:
        vectors = np.vstack([vectors, ranker.embedder.embed([e.title for e in memory])])
    queries = ranker.embedder.embed([e.title for e in examples])
    ranks = np.zeros(len(examples), dtype=np.int64)
    for start in range(0, len(examples), 256):
        sims = queries[start : start + 256] @ vectors.T
        for row in range(sims.shape[0]):
            per_role = np.full(len(ranker.role_ids), -2.0, dtype=np.float32)
            np.maximum.at(per_role, owners, sims[row])
            gold = index[examples[start + row].role_id]
            ranks[start + row] = int(np.sum(per_role > per_role[gold])) + 1
    top1, recall5, mrr = metrics_from_ranks(ranks)
    return Scores(len(examples), top1, recall5, mrr)


def baseline_exact(roles: Sequence[CatalogRole], examples: Sequence[Example]) -> Scores:
    lookup: dict[str, str] = {}
    for role in roles:
        for _, label in role.labels():
            lookup.setdefault(label.strip().lower(), role.role_id)
    hits = np.asarray([lookup.get(e.title.strip().lower()) == e.role_id for e in examples])
    ranks = np.where(hits, 1, 0).astype(np.int64)
    top1, recall5, mrr = metrics_from_ranks(ranks)
    return Scores(len(examples), top1, recall5, mrr)


def render(console: Console, title: str, rows: list[tuple[str, Scores]]) -> None:
    table = Table(title=title)
    for column in (
        "method",
        "n",
        "top-1",
        "recall@5",
        "MRR",
        "coverage@P>=0.8 (prec.)",
        "oracle cov.",
    ):
        table.add_column(column)
    for name, s in rows:
        cov = "-" if s.coverage is None else f"{s.coverage:.3f} ({s.coverage_precision:.3f})"
        oracle = "-" if s.oracle_coverage is None else f"{s.oracle_coverage:.3f}"
        table.add_row(
            name, str(s.n), f"{s.top1:.3f}", f"{s.recall5:.3f}", f"{s.mrr:.3f}", cov, oracle
        )
    console.print(table)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--titles", type=Path, default=DEFAULT_TITLES)
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--fit-sample", type=int, default=3000)
    parser.add_argument("--limit", type=int, default=0, help="cap report rows (0: all of B)")
    parser.add_argument(
        "--write-rerankers", action="store_true", help=f"store the fitted rerankers in {SHIPPED}"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    console = Console(width=140)
    started = time.perf_counter()

    roles = load_esco_occupations(args.catalog)
    examples = load_examples(args.titles)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(examples))
    half_a = [examples[i] for i in order[: len(order) // 2]]
    half_b = [examples[i] for i in order[len(order) // 2 :]]
    if args.limit:
        half_b = half_b[: args.limit]
    embedder = default_embedder()
    vectors = label_vectors(roles, embedder)
    ranker = TitleRanker(roles, embedder, label_vectors=vectors)
    fit_queries = half_a[: args.fit_sample]

    logger.info(
        "seed %d: half A %d rows (fit), half B %d rows (report)",
        args.seed,
        len(half_a),
        len(half_b),
    )
    cold_adapter = catalog_adapter(ranker, vectors)
    ranker.adapter = cold_adapter
    table = collect_fit_table(ranker, fit_queries)
    cold_weights, cold_reranker, cold_cal, _ = fit(without_adapter(table), warm=False)
    adapted_weights, adapted_reranker, adapted_cal, _ = fit(table, warm=False)
    del table
    ranker.adapter, ranker.weights, ranker.calibration = None, cold_weights, cold_cal
    ranker.linear_only = True
    cold_linear = ranks_only(score_ranker(ranker, half_b))
    ranker.linear_only, ranker.reranker = False, cold_reranker
    cold = score_ranker(ranker, half_b)
    ranker.adapter, ranker.weights, ranker.calibration = cold_adapter, adapted_weights, adapted_cal
    ranker.reranker = adapted_reranker
    cold_adapted = score_ranker(ranker, half_b)
    ranker.adapter = None
    minilm = baseline_minilm(ranker, roles, half_b, vectors)
    exact = baseline_exact(roles, half_b)
    render(
        console,
        f"COLD: ESCO labels only, queries = half B (seed {args.seed})",
        [
            ("hybrid ranker", cold),
            ("hybrid ranker, linear fusion only (no reranker)", cold_linear),
            ("hybrid ranker + catalog adapter", cold_adapted),
            ("MiniLM nearest label", minilm),
            ("exact lookup", exact),
        ],
    )
    console.print(f"cold fit: {cold_weights} {cold_cal} on {len(fit_queries)} rows of half A")
    console.print(f"cold fit with adapter: {adapted_weights} {adapted_cal}")

    # WARM fit inside A: A1 memory, A2 queries
    a1, a2 = half_a[: len(half_a) // 2], half_a[len(half_a) // 2 :]
    ranker.remember((e.title, e.role_id) for e in a1)
    memory_adapter(ranker, a1)
    table = collect_fit_table(ranker, a2[: args.fit_sample])
    warm_weights, warm_reranker, warm_cal, _ = fit(without_adapter(table), warm=True)
    warm_adapted_weights, warm_adapted_reranker, warm_adapted_cal, _ = fit(table, warm=True)
    del table
    ranker.remember((e.title, e.role_id) for e in a2)
    warm_adapter = memory_adapter(ranker, half_a)
    ranker.adapter, ranker.weights, ranker.calibration = None, warm_weights, warm_cal
    ranker.linear_only = True
    warm_linear = ranks_only(score_ranker(ranker, half_b))
    ranker.linear_only, ranker.reranker = False, warm_reranker
    warm = score_ranker(ranker, half_b)
    ranker.adapter, ranker.reranker = warm_adapter, warm_adapted_reranker
    ranker.weights, ranker.calibration = warm_adapted_weights, warm_adapted_cal
    warm_adapted = score_ranker(ranker, half_b)
    lookup = {e.title.strip().lower(): e.role_id for e in half_a}
    minilm_warm = baseline_minilm(ranker, roles, half_b, vectors, memory=half_a)
    exact_memory = float(
        np.mean([lookup.get(e.title.strip().lower()) == e.role_id for e in half_b])
    )
    render(
        console,
        f"WARM: memory = half A ({ranker.memory_size} approved), queries = half B",
        [
            ("hybrid ranker + memory", warm),
            ("hybrid ranker + memory, linear fusion only", warm_linear),
            ("hybrid ranker + memory + memory adapter", warm_adapted),
            ("MiniLM nearest label + approved titles", minilm_warm),
            (
                "exact lookup in memory",
                Scores(len(half_b), exact_memory, exact_memory, exact_memory),
            ),
        ],
    )
    console.print(
        f"warm fit: {warm_weights} {warm_cal} on {min(args.fit_sample, len(a2))} rows of A2 "
        f"with A1 ({len(a1)} rows) as memory"
    )
    console.print(
        f"warm fit with adapter (from A1; refitted on A for B): {warm_adapted_weights} "
        f"{warm_adapted_cal}"
    )
    if args.write_rerankers:
        fitted = {
            "cold": cold_reranker,
            "warm": warm_reranker,
            "cold_adapted": adapted_reranker,
            "warm_adapted": warm_adapted_reranker,
        }
        save_rerankers(SHIPPED, COMPONENTS, fitted)
        console.print(f"rerankers written to {SHIPPED}")
    console.print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
