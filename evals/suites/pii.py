"""PII detection as a suite: `evals.pii_spans`' span scoring, one record per sentence.

Each record keeps its per-entity counts, so recall and precision (and their intervals) are
sums over whichever sentences a bootstrap draws.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from evals.metrics import fbeta, latency_percentiles, safe_ratio
from evals.pii_spans import evaluate, load_examples
from evals.suites.base import Progress, Record, RunOptions, SuiteResult, finite, sample
from evals.suites.headlines import Headline, ratio_of


class PIISuite:
    name = "pii"
    headlines: tuple[Headline, ...] = (
        ratio_of("recall", "tp", "support"),
        ratio_of("precision", "correct_predicted", "predicted"),
    )

    def run(self, options: RunOptions, progress: Progress) -> SuiteResult:
        from pii.scrubber import Scrubber

        examples = sample(load_examples(options.dataset), options.limit, options.seed)
        scrubber = Scrubber()
        records: list[Record] = []
        for index, example in enumerate(examples):
            began = time.perf_counter()
            report = evaluate(scrubber, [example])
            latency = (time.perf_counter() - began) * 1000
            o = report.overall
            records.append(
                {
                    "id": str(index) if example.template_id is None else f"{index}",
                    "text": example.text,
                    "support": o.support,
                    "tp": o.tp,
                    "fn": o.fn,
                    "predicted": o.predicted,
                    "fp": o.fp,
                    "correct_predicted": o.predicted - o.fp,
                    "per_entity": {
                        name: [s.support, s.tp, s.predicted, s.fp]
                        for name, s in report.per_entity.items()
                    },
                    "misses": [[m.kind, m.entity_type, m.value] for m in report.misses],
                    "latency_ms": latency,
                }
            )
            progress(len(records), len(examples))
        return SuiteResult(
            records=records,
            metrics=metrics(records),
            counts={"examples": len(records), "gold_spans": sum(r["support"] for r in records)},
        )


def metrics(records: Sequence[Record]) -> dict[str, float | None]:
    totals: dict[str, list[int]] = {}
    for record in records:
        for name, values in record["per_entity"].items():
            current = totals.setdefault(name, [0, 0, 0, 0])
            for i, value in enumerate(values):
                current[i] += value
    out: dict[str, float | None] = {}
    for name, (support, tp, predicted, fp) in sorted(totals.items()):
        p, r = safe_ratio(predicted - fp, predicted), safe_ratio(tp, support)
        f2 = fbeta(p, r)
        out[f"{name}.precision"] = finite(p)
        out[f"{name}.recall"] = finite(r)
        out[f"{name}.f2"] = finite(f2)
    support = sum(int(r["support"]) for r in records)
    tp = sum(int(r["tp"]) for r in records)
    predicted = sum(int(r["predicted"]) for r in records)
    fp = sum(int(r["fp"]) for r in records)
    p, r = safe_ratio(predicted - fp, predicted), safe_ratio(tp, support)
    f2 = fbeta(p, r)
    p50, p95 = latency_percentiles([float(r["latency_ms"]) for r in records])
    return {
        "precision": finite(p),
        "recall": finite(r),
        "f2": finite(f2),
        **out,
        "latency_p50_ms": finite(p50),
        "latency_p95_ms": finite(p95),
        "model_calls": 0.0,
        "cost_usd": 0.0,
    }
