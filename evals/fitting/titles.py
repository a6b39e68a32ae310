"""Title -> role mapping quality on real data: JobBERT vacancy titles against ESCO.

    .venv/bin/python -m evals.fitting.titles [--fit-sample N] [--seed S]

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
  (``evals.fitting.logistic.fit_logistic_monotone``; the fitting is in
  ``evals.fitting.title_fit``). Reported figures use the ranker's own scoring path over all
  roles; ties count against the gold role when the ranker would list another role first.
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
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from core.title_text import normalise_title
from evals.fitting.title_fit import (
    catalog_adapter,
    collect_fit_table,
    fit,
    gold_ranks,
    memory_adapter,
    threshold_for_precision,
    without_adapter,
)
from evals.metrics import metrics_from_ranks
from evals.title_examples import (
    DEFAULT_CATALOG,
    DEFAULT_TITLES,
    Example,
    label_vectors,
    load_examples,
)
from tools.titles.components import COMPONENTS
from tools.titles.confidence import confidence_features
from tools.titles.ranker import TitleRanker
from tools.titles.rerank import SHIPPED, save_rerankers
from vectorstore.embeddings import default_embedder
from vectorstore.roles import CatalogRole, load_esco_occupations

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Scores:
    n: int
    top1: float
    recall5: float
    mrr: float
    coverage: float | None = None
    coverage_precision: float | None = None
    oracle_coverage: float | None = None


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
