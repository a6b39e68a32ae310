"""Skill normalisation quality on real data: job-ad skill spans against ESCO skills.

    .venv/bin/python -m evals.skills [--data-dir ../shared/data/skills]
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
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

from evals.fitting import cached_embeddings, fit_logistic, metrics_from_ranks
from tools.skills.normaliser import (
    ALONE_PROFILE,
    CONTEXT_PROFILE,
    Calibration,
    EncodedMention,
    NormaliserWeights,
    Profile,
    SkillNormaliser,
    confidence_features,
)
from tools.skills.taxonomy import SkillConcept, default_collection_paths, load_taxonomy
from vectorstore.embeddings import OfflineMiniLM, default_embedder

logger = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_DATA_DIR = DATA / "skills"
DEFAULT_TAXONOMY = DATA / "esco" / "skills_en_labels.txt"
FILES: tuple[str, ...] = ("house", "tech")
NO_LABEL = frozenset({"LABEL NOT PRESENT", "UNDERSPECIFIED"})
SEED = 20260101
ABSTAIN_BELOW = 0.5
SWEEP: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5, 0.6)
START = NormaliserWeights(embedding=1.0, embedding_raw=0.5, lexical=0.3, context=0.1)
"""Where coordinate ascent starts; fixed here so a fit never depends on the shipped values."""
STEPS: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0)

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Example:
    sentence: str
    span: str
    sub_span: str
    label: str

    @property
    def mention(self) -> str:
        """The sub-span, when given, is the skill; the span then holds several."""
        return self.sub_span or self.span

    @property
    def has_label(self) -> bool:
        return self.label not in NO_LABEL


@dataclass(frozen=True)
class Scores:
    n: int
    n_labelled: int
    top1: float
    recall5: float
    mrr: float
    abstained: int | None = None
    abstained_correctly: int | None = None
    no_label: int | None = None
    answered: int | None = None
    answered_correct: int | None = None

    @property
    def abstain_precision(self) -> float | None:
        if self.abstained is None or self.abstained_correctly is None:
            return None
        return self.abstained_correctly / self.abstained if self.abstained else float("nan")

    @property
    def abstain_recall(self) -> float | None:
        if self.no_label is None or self.abstained_correctly is None:
            return None
        return self.abstained_correctly / self.no_label if self.no_label else float("nan")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["abstain_precision"] = self.abstain_precision
        out["abstain_recall"] = self.abstain_recall
        return out


def load_examples(path: Path) -> list[Example]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Example(r["sentence"], r["span"], (r.get("sub_span") or "").strip(), r["label"].strip())
            for r in csv.DictReader(handle)
        ]


def split_by_sentence(
    examples: Sequence[Example], seed: int
) -> tuple[list[Example], list[Example]]:
    sentences = sorted({e.sentence for e in examples})
    order = np.random.default_rng(seed).permutation(len(sentences))
    half_a = {sentences[i] for i in order[: len(order) // 2]}
    return [e for e in examples if e.sentence in half_a], [
        e for e in examples if e.sentence not in half_a
    ]


def entry_vectors(concepts: Sequence[SkillConcept], embedder: OfflineMiniLM) -> FloatArray:
    """Embedding ~25k labels takes ~30 s; cache them keyed by model and taxonomy content.
    (Services use the Chroma ``skills`` collection instead; see vectorstore/skills_index.)"""
    texts = [text for concept in concepts for _, text in concept.labels()]
    return cached_embeddings(texts, embedder, name="esco-skill-entries")


@dataclass
class Encoded:
    """Per example: component scores over all concepts, the gold concept (-1: no label)."""

    examples: list[Example]
    mentions: list[EncodedMention]
    comps: list[FloatArray]
    gold: list[int]

    def subset(self, rows: Sequence[Example]) -> Encoded:
        keep = {id(e) for e in rows}
        picks = [i for i, e in enumerate(self.examples) if id(e) in keep]
        return Encoded(
            [self.examples[i] for i in picks],
            [self.mentions[i] for i in picks],
            [self.comps[i] for i in picks],
            [self.gold[i] for i in picks],
        )

    def __add__(self, other: Encoded) -> Encoded:
        return Encoded(
            self.examples + other.examples,
            self.mentions + other.mentions,
            self.comps + other.comps,
            self.gold + other.gold,
        )


def encode(
    normaliser: SkillNormaliser, examples: Sequence[Example], *, with_context: bool
) -> Encoded:
    index = {c.label: i for i, c in enumerate(normaliser.concepts)}
    contexts = [e.sentence for e in examples] if with_context else None
    mentions = normaliser.encode([e.mention for e in examples], contexts)
    comps = []
    for start in range(0, len(mentions), 64):
        comps += [c for c, _ in normaliser.components_many(mentions[start : start + 64])]
    gold = []
    for example in examples:
        if not example.has_label:
            gold.append(-1)
        elif example.label in index:
            gold.append(index[example.label])
        else:
            raise ValueError(f"gold label {example.label!r} is not in the taxonomy")
    return Encoded(list(examples), mentions, comps, gold)


def ranks_and_features(
    data: Encoded, weights: FloatArray
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Rank of the gold concept (0 for no-label rows) and confidence features per row."""
    ranks = np.zeros(len(data.gold), dtype=np.int64)
    features = np.zeros((len(data.gold), 5), dtype=np.float64)
    for i, (comps, gold, mention) in enumerate(
        zip(data.comps, data.gold, data.mentions, strict=True)
    ):
        fused = weights @ comps
        if gold >= 0:
            ranks[i] = int(np.sum(fused > fused[gold])) + 1
        features[i] = confidence_features(fused, comps, mention.words)
    return ranks, features


def mean_mrr(data: Encoded, weights: FloatArray) -> float:
    total, n = 0.0, 0
    for comps, gold in zip(data.comps, data.gold, strict=True):
        if gold < 0:
            continue
        fused = weights @ comps
        total += 1.0 / (int(np.sum(fused > fused[gold])) + 1)
        n += 1
    return total / max(n, 1)


def fit(data: Encoded, *, with_context: bool) -> tuple[Profile, float]:
    """Coordinate ascent on MRR (the embedding weight is fixed at 1 as the scale; the
    context weight stays 0 without context), then a logistic calibration on top-1
    correctness with the fitted weights, no-label rows counting as wrong."""
    free = [1, 2, 3] if with_context else [1, 2]
    best_w = START.as_array().copy()
    if not with_context:
        best_w[3] = 0.0
    best = mean_mrr(data, best_w)
    for _ in range(4):
        improved = False
        for c in free:
            for value in STEPS:
                trial = best_w.copy()
                trial[c] = value
                mrr = mean_mrr(data, trial)
                if mrr > best + 1e-6:
                    best, best_w, improved = mrr, trial, True
        if not improved:
            break
    ranks, features = ranks_and_features(data, best_w)
    coef = fit_logistic(features, ranks == 1, ridge=1e-2, penalise_bias=False, iterations=100)
    calibration = Calibration(
        round(float(coef[0]), 3), tuple(round(float(c), 3) for c in coef[1:]), ABSTAIN_BELOW
    )
    weights = NormaliserWeights.from_array([round(float(v), 3) for v in best_w])
    logger.info("fitted %s %s (fit MRR %.3f)", weights, calibration, best)
    return Profile(weights, calibration), best


def confidences(profile: Profile, data: Encoded) -> tuple[npt.NDArray[np.int64], FloatArray]:
    ranks, features = ranks_and_features(data, profile.weights.as_array())
    conf = np.asarray([profile.calibration.confidence(f) for f in features], dtype=np.float32)
    return ranks, conf


def score(profile: Profile, data: Encoded) -> Scores:
    ranks, conf = confidences(profile, data)
    abstain = conf < profile.calibration.abstain_below
    labelled = np.asarray([g >= 0 for g in data.gold], dtype=bool)
    top1, recall5, mrr = metrics_from_ranks(ranks[labelled])
    correct = labelled & (ranks == 1)
    return Scores(
        n=len(data.gold),
        n_labelled=int(labelled.sum()),
        top1=top1,
        recall5=recall5,
        mrr=mrr,
        abstained=int(abstain.sum()),
        abstained_correctly=int((abstain & ~labelled).sum()),
        no_label=int((~labelled).sum()),
        answered=int((~abstain).sum()),
        answered_correct=int((~abstain & correct).sum()),
    )


def threshold_sweep(
    profile: Profile, data: Encoded, thresholds: Sequence[float] = SWEEP
) -> list[dict[str, float]]:
    """What other abstention thresholds would give on the same rows. The shipped one is
    set a priori at 0.5; this shows the trade-off, it does not choose."""
    ranks, conf = confidences(profile, data)
    labelled = np.asarray([g >= 0 for g in data.gold], dtype=bool)
    correct = labelled & (ranks == 1)
    rows = []
    for threshold in thresholds:
        abstain = conf < threshold
        hit = int((abstain & ~labelled).sum())
        answered = ~abstain
        rows.append(
            {
                "threshold": threshold,
                "abstain_precision": hit / abstain.sum() if abstain.any() else float("nan"),
                "abstain_recall": hit / (~labelled).sum() if (~labelled).any() else float("nan"),
                "answered": int(answered.sum()),
                "answered_accuracy": float(correct[answered].mean())
                if answered.any()
                else float("nan"),
            }
        )
    return rows


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
