"""Skill normalisation quality on real data: job-ad skill spans against ESCO skills.

    .venv/bin/python -m evals.fitting.skills [--data-dir ../shared/data/skills]
        [--taxonomy ../shared/data/esco/skills_en_labels.txt] [--seed S] [--json]

Data: the Skill-Extraction benchmark's validation splits (``house``, ``tech``): a sentence,
a span, sometimes a sub-span (one skill of a coordinated span: "design execution and
analysis of X" -> "execution of X"), and an ESCO preferred label or ``LABEL NOT PRESENT`` /
``UNDERSPECIFIED``, meaning the right output is "no confident match". The files have no
licence for redistribution, so they are read from a path and never packaged.

Protocol (nothing is tuned on the rows it is reported on):

- Each file is split by a seeded permutation of its *sentences* into half A and half B, so
  repeated ads and the sub-spans of one span never straddle the split.
- One set of fusion weights (coordinate ascent on MRR) and one confidence calibration
  (logistic on P(top-1 correct), where a no-label row is never correct) are fitted on A of
  both files together. We abstain when that probability is below 0.5: a suggestion more
  likely wrong than right is not made.
- Figures are reported on B (held out) and on the full file (optimistic: it contains A).
- top-1 / R@5 / MRR are over rows with a real label, ranking all concepts regardless of
  abstention; abstention precision/recall are over abstentions and no-label rows;
  "answered acc." is the share of non-abstained rows whose top-1 is right.
- Baselines on the same rows, same command: plain MiniLM, span as written -> nearest ESCO
  preferred label (the issue's baseline), and the same with the sub-span when there is one.
- Latency is one ``normalise()`` call (with context) per row, p50 and p95, after warm-up.

The fitting itself is in `evals.fitting.skill_fit`; reading the rows in `evals.skill_examples`.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from evals.fitting.skill_fit import (
    Encoded,
    Scores,
    encode,
    fit,
    score,
    split_by_sentence,
    threshold_sweep,
)
from evals.metrics import metrics_from_ranks
from evals.skill_examples import (
    DEFAULT_DATA_DIR,
    DEFAULT_TAXONOMY,
    Example,
    entry_vectors,
    load_examples,
)
from tools.skills.normaliser import SkillNormaliser
from tools.skills.profiles import ALONE_PROFILE, CONTEXT_PROFILE, Profile
from tools.skills.taxonomy import default_collection_paths, load_taxonomy
from vectorstore.embeddings import OfflineMiniLM, default_embedder

logger = logging.getLogger(__name__)

FILES: tuple[str, ...] = ("house", "tech")
SEED = 20260101


def baseline(
    normaliser: SkillNormaliser,
    preferred_rows: npt.NDArray[np.int64],
    examples: Sequence[Example],
    use_sub_span: bool,
) -> Scores:
    """Plain MiniLM: the text exactly as given vs preferred labels only, nearest wins."""
    labelled = [e for e in examples if e.has_label]
    index = {c.label: i for i, c in enumerate(normaliser.concepts)}
    texts = [e.mention if use_sub_span else e.span for e in labelled]
    queries = normaliser.embedder.embed(texts)
    labels = normaliser.entry_matrix[preferred_rows]
    sims = queries @ labels.T
    ranks = np.asarray(
        [int(np.sum(row > row[index[e.label]])) + 1 for row, e in zip(sims, labelled, strict=True)],
        dtype=np.int64,
    )
    top1, recall5, mrr = metrics_from_ranks(ranks)
    return Scores(len(examples), len(labelled), top1, recall5, mrr)


def latency_ms(
    normaliser: SkillNormaliser, examples: Sequence[Example], limit: int = 200
) -> dict[str, float | int]:
    """Single ``normalise()`` calls: with the sentence as context (context cache cleared
    before each call, so every call embeds its sentence) and on the mention alone."""
    sample = list(examples)[:limit]
    normaliser.normalise(sample[0].mention, context=sample[0].sentence)
    with_context, alone = [], []
    for example in sample:
        normaliser.clear_context_cache()
        started = time.perf_counter()
        normaliser.normalise(example.mention, context=example.sentence)
        with_context.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        normaliser.normalise(example.mention)
        alone.append((time.perf_counter() - started) * 1000)
    return {
        "calls": len(sample),
        "context_p50": float(np.percentile(with_context, 50)),
        "context_p95": float(np.percentile(with_context, 95)),
        "alone_p50": float(np.percentile(alone, 50)),
        "alone_p95": float(np.percentile(alone, 95)),
    }


METHODS: dict[str, str] = {
    "normaliser": "skill normaliser (mention + sentence)",
    "normaliser_alone": "skill normaliser (mention alone)",
    "baseline_span": "baseline: MiniLM span -> nearest label",
    "baseline_sub_span": "baseline: MiniLM sub-span -> nearest label",
}


def run_skills_eval(
    data_dir: Path = DEFAULT_DATA_DIR,
    taxonomy: Path = DEFAULT_TAXONOMY,
    *,
    seed: int = SEED,
    alt_labels: bool = True,
    files: Sequence[str] = FILES,
    embedder: OfflineMiniLM | None = None,
    latency_rows: int = 200,
) -> dict[str, Any]:
    """Fit on half A of every file, report on B and on the full files; JSON-ready."""
    started = time.perf_counter()
    concepts = load_taxonomy(taxonomy, None if alt_labels else [])
    embedder = embedder or default_embedder()
    normaliser = SkillNormaliser(
        concepts, embedder, entry_vectors=entry_vectors(concepts, embedder)
    )
    preferred_rows = np.asarray(
        [i for i, kind in enumerate(normaliser.entry_kinds) if kind == "preferred"], dtype=np.int64
    )
    per_file = {name: load_examples(data_dir / f"{name}.dev.csv") for name in files}
    halves = {name: split_by_sentence(rows, seed) for name, rows in per_file.items()}
    encoded = {
        (name, mode): encode(normaliser, rows, with_context=mode == "context")
        for name, rows in per_file.items()
        for mode in ("context", "alone")
    }
    profiles: dict[str, Profile] = {}
    fit_info: dict[str, Any] = {}
    for mode in ("context", "alone"):
        fit_data = Encoded([], [], [], [])
        for name in files:
            fit_data = fit_data + encoded[name, mode].subset(halves[name][0])
        profile, fit_mrr = fit(fit_data, with_context=mode == "context")
        profiles[mode] = profile
        fit_info[mode] = {
            "rows": len(fit_data.gold),
            "labelled_rows": sum(1 for g in fit_data.gold if g >= 0),
            "mrr": fit_mrr,
            "weights": asdict(profile.weights),
            "calibration": asdict(profile.calibration),
        }
    normaliser.profile, normaliser.alone_profile = profiles["context"], profiles["alone"]
    report: dict[str, Any] = {
        "seed": seed,
        "taxonomy": {
            "path": str(taxonomy),
            "concepts": len(concepts),
            "entries": len(normaliser.entry_texts),
            "alt_label_sources": [p.name for p in default_collection_paths(taxonomy)]
            if alt_labels
            else [],
        },
        "fit": fit_info,
        "matches_shipped_profiles": profiles["context"] == CONTEXT_PROFILE
        and profiles["alone"] == ALONE_PROFILE,
        "files": {},
    }
    for name in files:
        rows = per_file[name]
        held_out = halves[name][1]
        result: dict[str, Any] = {"rows": len(rows), "fit_rows": len(halves[name][0])}
        for split, subset in (("held_out", held_out), ("full", rows)):
            result[split] = {
                "normaliser": score(
                    profiles["context"], encoded[name, "context"].subset(subset)
                ).as_dict(),
                "normaliser_alone": score(
                    profiles["alone"], encoded[name, "alone"].subset(subset)
                ).as_dict(),
                "baseline_span": baseline(normaliser, preferred_rows, subset, False).as_dict(),
                "baseline_sub_span": baseline(normaliser, preferred_rows, subset, True).as_dict(),
            }
        result["threshold_sweep_held_out"] = threshold_sweep(
            profiles["context"], encoded[name, "context"].subset(held_out)
        )
        result["latency_ms"] = latency_ms(normaliser, rows, latency_rows)
        report["files"][name] = result
    report["seconds"] = time.perf_counter() - started
    return report


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def render(console: Console, report: dict[str, Any]) -> None:
    for name, result in report["files"].items():
        for split, title in (
            ("held_out", f"half B, held out ({result['rows'] - result['fit_rows']} rows)"),
            ("full", f"full file ({result['rows']} rows; includes the fit half)"),
        ):
            table = Table(title=f"{name}.dev.csv, {title}")
            for column in (
                "method",
                "rows (labelled)",
                "top-1",
                "R@5",
                "MRR",
                "abstain P (n)",
                "abstain R (n)",
                "answered acc. (n)",
            ):
                table.add_column(column)
            for key, label in METHODS.items():
                s = result[split][key]
                precision = recall = answered = "-"
                if s["abstained"] is not None:
                    hits = s["abstained_correctly"]
                    precision = f"{_fmt(s['abstain_precision'])} ({hits}/{s['abstained']})"
                    recall = f"{_fmt(s['abstain_recall'])} ({hits}/{s['no_label']})"
                    acc = s["answered_correct"] / s["answered"] if s["answered"] else float("nan")
                    answered = f"{acc:.3f} ({s['answered_correct']}/{s['answered']})"
                table.add_row(
                    label,
                    f"{s['n']} ({s['n_labelled']})",
                    _fmt(s["top1"]),
                    _fmt(s["recall5"]),
                    _fmt(s["mrr"]),
                    precision,
                    recall,
                    answered,
                )
            console.print(table)
        sweep = Table(title=f"{name}.dev.csv, half B, mention + sentence: abstention threshold")
        for column in ("threshold", "abstain P", "abstain R", "answered", "answered acc."):
            sweep.add_column(column)
        for row in result["threshold_sweep_held_out"]:
            sweep.add_row(
                f"{row['threshold']:.1f}",
                _fmt(row["abstain_precision"]),
                _fmt(row["abstain_recall"]),
                str(row["answered"]),
                _fmt(row["answered_accuracy"]),
            )
        console.print(sweep)
        latency = result["latency_ms"]
        console.print(
            f"{name}: one normalise() call with its sentence (context cache cleared): p50 "
            f"{latency['context_p50']:.1f} ms, p95 {latency['context_p95']:.1f} ms; mention "
            f"alone: p50 {latency['alone_p50']:.1f} ms, p95 {latency['alone_p95']:.1f} ms "
            f"({latency['calls']} calls each)"
        )
    for mode, info in report["fit"].items():
        console.print(
            f"fit ({mode}) on half A of {', '.join(report['files'])} (seed {report['seed']}): "
            f"{info['rows']} rows ({info['labelled_rows']} labelled), MRR {info['mrr']:.3f}; "
            f"weights {info['weights']}; calibration {info['calibration']}"
        )
    console.print(f"matches shipped profiles: {report['matches_shipped_profiles']}")
    taxonomy = report["taxonomy"]
    console.print(
        f"taxonomy {taxonomy['concepts']} concepts, {taxonomy['entries']} entries "
        f"(alt labels from {', '.join(taxonomy['alt_label_sources']) or 'none'}); "
        f"total {report['seconds']:.0f} s"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--taxonomy", type=Path, default=DEFAULT_TAXONOMY)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--no-alt-labels", action="store_true", help="preferred labels only, no ESCO collections"
    )
    parser.add_argument("--latency-rows", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.json else logging.INFO,
        format="%(levelname)s %(name)s %(message)s",
    )
    report = run_skills_eval(
        args.data_dir,
        args.taxonomy,
        seed=args.seed,
        alt_labels=not args.no_alt_labels,
        latency_rows=args.latency_rows,
    )
    if args.json:
        print(json.dumps(report, indent=2))  # noqa: T201
    else:
        render(Console(width=160), report)


if __name__ == "__main__":
    main()
