"""Embedded title -> role mapping latency against the full ESCO catalog (2,942 roles).

    .venv/bin/python -m bench.titles [--titles 300] [--batch-size 256]

Measured: p50/p95 of `TitleRanker.rank` for one title at a time (the interactive path:
normalise, embed, reduced-space scoring of ~33k labels + exact rescoring of the shortlist,
lexical and role-level evidence, fusion, calibration) and titles/s for `rank_many` (one
embedding call and one label matrix product per batch). The machine's load average is
printed with the table: on two shared cores, other work moves these numbers a lot. Label
vectors come from the eval's cache so start-up cost (~45 s to embed the catalog once) is
reported separately.
The memory is empty for "cold" and holds 7.7k approved titles for "warm"; "+ adapter" adds
the adapter component the product uses once `titles fit-adapter` has run (an identity
matrix: any 384x384 matrix costs the same). "no reranker" is the warm row with the linear
fusion alone, the peer the reranker's cost is read against.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

from rich.console import Console
from rich.table import Table

from evals.title_examples import DEFAULT_CATALOG, DEFAULT_TITLES, label_vectors, load_examples
from tools.titles.adapter import TitleAdapter
from tools.titles.ranker import TitleRanker
from vectorstore.embeddings import default_embedder
from vectorstore.roles import load_esco_occupations

console = Console(width=120)


def measure(ranker: TitleRanker, titles: list[str], batch_size: int) -> tuple[float, ...]:
    for title in titles[:10]:  # warm-up: first onnxruntime calls allocate
        ranker.rank(title)
    timings = []
    for title in titles:
        started = time.perf_counter()
        ranker.rank(title)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    started = time.perf_counter()
    for start in range(0, len(titles), batch_size):
        ranker.rank_many(titles[start : start + batch_size])
    throughput = len(titles) / (time.perf_counter() - started)
    return statistics.median(timings), p95, throughput


def main() -> None:
    parser = argparse.ArgumentParser(description="title mapping latency")
    parser.add_argument("--titles", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    roles = load_esco_occupations(DEFAULT_CATALOG)
    examples = load_examples(DEFAULT_TITLES)
    rng = random.Random(7)
    sample = [e.title for e in rng.sample(examples, args.titles)]
    embedder = default_embedder()
    started = time.perf_counter()
    ranker = TitleRanker(roles, embedder, label_vectors=label_vectors(roles, embedder))
    build = time.perf_counter() - started

    table = Table(title=f"title mapping, {len(roles)} roles, {args.titles} titles")
    for column in ("mode", "p50 ms", "p95 ms", "batched titles/s", "warm p50 / this"):
        table.add_column(column)
    p50, p95, tput = measure(ranker, sample, args.batch_size)
    table.add_row("cold (labels only)", f"{p50:.1f}", f"{p95:.1f}", f"{tput:.0f}")
    memory = [(e.title, e.role_id) for e in rng.sample(examples, len(examples) // 2)]
    ranker.remember(memory)
    p50, p95, tput = measure(ranker, sample, args.batch_size)
    table.add_row(
        f"warm ({ranker.memory_size} approved)", f"{p50:.1f}", f"{p95:.1f}", f"{tput:.0f}"
    )
    warm_p50 = p50
    ranker.linear_only = True
    p50, p95, tput = measure(ranker, sample, args.batch_size)
    table.add_row(
        "warm, no reranker", f"{p50:.1f}", f"{p95:.1f}", f"{tput:.0f}", f"{warm_p50 / p50:.2f}x"
    )
    ranker.linear_only = False
    ranker.adapter = TitleAdapter.identity(embedder.dimension)
    p50, p95, tput = measure(ranker, sample, args.batch_size)
    table.add_row("warm + adapter", f"{p50:.1f}", f"{p95:.1f}", f"{tput:.0f}")
    console.print(table)
    console.print(f"ranker build with cached label vectors: {build:.1f} s")
    console.print("load average (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
