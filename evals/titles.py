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
- Fitting scores each query on the union of every component's top-60 roles plus the gold
  role (exact for the ranks that matter, far cheaper than all 2,942 roles per weight set).
  Reported figures use the ranker itself over all roles.
Baselines on the same B rows: plain MiniLM nearest label (raw title vs raw ESCO preferred +
alt labels, best label per role) and exact lowercase string lookup.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from tools.titles.normalise import normalise_title
from tools.titles.ranker import Calibration, RankerWeights, TitleRanker, confidence_features
from vectorstore.embeddings import MODEL_SHA256, OfflineMiniLM, default_embedder
from vectorstore.roles import CatalogRole, load_esco_occupations

logger = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_TITLES = DATA / "jobbert" / "titles.dev.csv"
DEFAULT_CATALOG = DATA / "esco" / "occupations_en.csv"
CACHE = Path(__file__).resolve().parents[1] / "var" / "cache"
TARGET_PRECISION = 0.8
UNION_TOP = 60

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
    key = hashlib.sha256(("\n".join(raw) + MODEL_SHA256).encode()).hexdigest()[:16]
    path = CACHE / f"esco-labels-{key}.npy"
    if path.exists():
        cached: FloatArray = np.load(path)
        return cached
    vectors = embedder.embed(raw)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def metrics_from_ranks(ranks: npt.NDArray[np.int64]) -> tuple[float, float, float]:
    """ranks are 1-based; 0 means not found at all."""
    found = ranks > 0
    reciprocal = np.where(found, 1.0 / np.maximum(ranks, 1), 0.0)
    return (
        float(np.mean(ranks == 1)),
        float(np.mean(found & (ranks <= 5))),
        float(np.mean(reciprocal)),
    )


def threshold_for_precision(conf: FloatArray, correct: npt.NDArray[np.bool_]) -> float:
    """Lowest confidence threshold whose accepted set reaches the target precision."""
    order = np.argsort(-conf, kind="stable")
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(precision >= TARGET_PRECISION)
    if ok.size == 0:
        return float("inf")
    return float(conf[order][ok[-1]])


def fit_logistic(features: FloatArray, labels: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """Newton's method with a tiny ridge: three parameters do not need a library."""
    x = np.hstack([np.ones((len(features), 1)), features.astype(np.float64)])
    y = labels.astype(np.float64)
    w = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) + 1e-3 * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + 1e-3 * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


@dataclass
class FitTable:
    """Per fit query: component scores (4 x U) over candidate roles, and where the gold is."""

    comps: list[FloatArray]
    gold: list[int]


def collect_fit_table(ranker: TitleRanker, examples: Sequence[Example]) -> FitTable:
    parsed = [normalise_title(e.title) for e in examples]
    vectors, raw_vectors = ranker.embed_titles(parsed)
    index = {rid: i for i, rid in enumerate(ranker.role_ids)}
    table = FitTable([], [])
    for example, title, vector, raw in zip(examples, parsed, vectors, raw_vectors, strict=True):
        comps, _ = ranker.components(title, vector, raw)
        union = set(np.argsort(-comps, axis=1)[:, :UNION_TOP].ravel().tolist())
        gold = index[example.role_id]
        union.add(gold)
        cols = np.asarray(sorted(union))
        table.comps.append(comps[:, cols])
        table.gold.append(int(np.flatnonzero(cols == gold)[0]))
    return table


def evaluate_weights(
    table: FitTable, weights: FloatArray, with_features: bool = False
) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """MRR for one weight vector on the fit table, plus (optionally) confidence features
    and top-1 correctness per query for calibration."""
    mrr = 0.0
    features = np.zeros((len(table.gold), 4), dtype=np.float64)
    correct = np.zeros(len(table.gold), dtype=bool)
    for i, (comps, gold) in enumerate(zip(table.comps, table.gold, strict=True)):
        fused = weights @ comps
        rank = int(np.sum(fused > fused[gold])) + 1
        mrr += 1.0 / rank
        correct[i] = rank == 1
        if with_features:
            features[i] = confidence_features(fused, comps)
    return mrr / len(table.gold), features, correct


def fit(table: FitTable, warm: bool) -> tuple[RankerWeights, Calibration, float]:
    """Coordinate ascent on MRR; the label-embedding weight is fixed at 1 as the scale."""
    steps = [0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
    free = [0, 2] + ([3, 4, 5, 6] if warm else [])
    w = np.asarray([0.4, 1.0, 0.5] + ([0.5] * 4 if warm else [0.0] * 4), dtype=np.float32)
    best: tuple[float, FloatArray] = (evaluate_weights(table, w)[0], w.copy())
    for _ in range(3):
        improved = False
        for c in free:
            for value in steps:
                trial = best[1].copy()
                trial[c] = value
                mrr = evaluate_weights(table, trial)[0]
                if mrr > best[0] + 1e-6:
                    best, improved = (mrr, trial), True
        if not improved:
            break
    mrr, features, correct = evaluate_weights(table, best[1], with_features=True)
    coef = fit_logistic(features.astype(np.float32), correct)
    calibration = Calibration(float(coef[0]), tuple(float(c) for c in coef[1:]), 0.5)
    conf = np.asarray([calibration.confidence(f) for f in features], dtype=np.float32)
    threshold = threshold_for_precision(conf, correct)
    calibration = Calibration(calibration.bias, calibration.coefficients, threshold)
    weights = RankerWeights.from_array(best[1].tolist())
    logger.info("fitted %s %s (fit MRR %.3f)", weights, calibration, mrr)
    return weights, calibration, mrr


def score_ranker(ranker: TitleRanker, examples: Sequence[Example]) -> Scores:
    """Same fusion and confidence as `TitleRanker.rank`, minus building candidate objects
    for all 2,942 roles (needed here only to find the gold role's rank)."""
    index = {rid: i for i, rid in enumerate(ranker.role_ids)}
    weights = ranker.weights.as_array()
    ranks = np.zeros(len(examples), dtype=np.int64)
    conf = np.zeros(len(examples), dtype=np.float32)
    for start in range(0, len(examples), 512):
        chunk = examples[start : start + 512]
        parsed = [normalise_title(e.title) for e in chunk]
        vectors, raw_vectors = ranker.embed_titles(parsed)
        for offset, (example, title, vector, raw) in enumerate(
            zip(chunk, parsed, vectors, raw_vectors, strict=True)
        ):
            comps, _ = ranker.components(title, vector, raw)
            fused = weights @ comps
            gold = fused[index[example.role_id]]
            ranks[start + offset] = int(np.sum(fused > gold)) + 1
            conf[start + offset] = ranker.calibration.confidence(confidence_features(fused, comps))
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
    parser.add_argument("--fit-sample", type=int, default=2000)
    parser.add_argument("--limit", type=int, default=0, help="cap report rows (0: all of B)")
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

    cold_weights, cold_cal, _ = fit(collect_fit_table(ranker, fit_queries), warm=False)
    ranker.weights, ranker.calibration = cold_weights, cold_cal
    cold = score_ranker(ranker, half_b)
    minilm = baseline_minilm(ranker, roles, half_b, vectors)
    exact = baseline_exact(roles, half_b)
    render(
        console,
        f"COLD: ESCO labels only, queries = half B (seed {args.seed})",
        [("hybrid ranker", cold), ("MiniLM nearest label", minilm), ("exact lookup", exact)],
    )
    console.print(f"cold fit: {cold_weights} {cold_cal} on {len(fit_queries)} rows of half A")

    # WARM fit inside A: A1 memory, A2 queries
    a1, a2 = half_a[: len(half_a) // 2], half_a[len(half_a) // 2 :]
    ranker.remember((e.title, e.role_id) for e in a1)
    warm_weights, warm_cal, _ = fit(collect_fit_table(ranker, a2[: args.fit_sample]), warm=True)
    ranker.remember((e.title, e.role_id) for e in a2)
    ranker.weights, ranker.calibration = warm_weights, warm_cal
    warm = score_ranker(ranker, half_b)
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
            ("MiniLM nearest label + approved titles", minilm_warm),
            (
                "exact lookup in memory",
                Scores(len(half_b), exact_memory, exact_memory, exact_memory),
            ),
        ],
    )
    console.print(f"warm fit: {warm_weights} {warm_cal}")
    console.print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
