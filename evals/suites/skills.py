"""Skills: skill mentions in job ads -> taxonomy concepts, or abstain.

The dataset is one of ``../shared/data/skills/<name>.dev.csv`` (``sentence,span,sub_span,
label``; LABEL NOT PRESENT / UNDERSPECIFIED mean the right answer is to abstain), read by
path because those files may not be copied into this repository; ``--catalog`` is the
taxonomy (one label per line; ESCO collection CSVs next to it add alt labels).

Every row is scored with the shipped normaliser profiles, one record per row, so intervals
and paired comparisons work like for any suite. Those profiles were fitted by
``python -m evals.fitting.skills`` on a seeded half of both dev files: scores on the full dev files
include that half, and ``python -m evals.fitting.skills`` reports the held-out half on its own.
"""

from __future__ import annotations

import math

import numpy as np

from evals.suites.base import Progress, Record, RunOptions, SuiteResult, sample
from evals.suites.headlines import Headline, ratio_of


class SkillsSuite:
    name = "skills"
    headlines: tuple[Headline, ...] = (
        ratio_of("top1", "top1", "labelled"),
        ratio_of("recall@5", "hit5", "labelled"),
        ratio_of("mrr", "rr", "labelled"),
        ratio_of("abstention_precision", "abstained_right", "abstained"),
        ratio_of("abstention_recall", "abstained_right", "no_label"),
    )

    def run(self, options: RunOptions, progress: Progress) -> SuiteResult:
        from evals.skill_examples import DEFAULT_TAXONOMY, entry_vectors, load_examples
        from tools.skills import SkillNormaliser, load_taxonomy
        from vectorstore.embeddings import default_embedder

        examples = sample(load_examples(options.dataset), options.limit, options.seed)
        concepts = load_taxonomy(options.catalog or DEFAULT_TAXONOMY)
        embedder = default_embedder()
        normaliser = SkillNormaliser(
            concepts, embedder, entry_vectors=entry_vectors(concepts, embedder)
        )
        records: list[Record] = []
        batch = 64
        for start in range(0, len(examples), batch):
            chunk = examples[start : start + batch]
            matches = normaliser.normalise_many(
                [e.mention for e in chunk], contexts=[e.sentence for e in chunk], k=10
            )
            for example, match in zip(chunk, matches, strict=True):
                labels = [c.label.casefold() for c in match.candidates]
                gold = example.label.casefold()
                rank = labels.index(gold) + 1 if example.has_label and gold in labels else None
                records.append(
                    {
                        "mention": example.mention,
                        "gold": example.label,
                        "predicted": match.candidates[0].label if match.candidates else None,
                        "labelled": int(example.has_label),
                        "no_label": int(not example.has_label),
                        "top1": int(rank == 1),
                        "hit5": int(rank is not None and rank <= 5),
                        "rr": 1.0 / rank if rank else 0.0,
                        "confidence": match.confidence,
                        "correct": rank == 1,
                        "abstained": int(match.abstained),
                        "abstained_right": int(match.abstained and not example.has_label),
                    }
                )
            progress(min(start + batch, len(examples)), len(examples))
        everything = np.arange(len(records))
        metrics = {h.name: float(h.build(records)(everything)) for h in self.headlines}
        return SuiteResult(
            records=records,
            metrics={k: (None if math.isnan(v) else round(v, 4)) for k, v in metrics.items()},
            counts={
                "rows": len(records),
                "labelled": sum(r["labelled"] for r in records),
                "concepts": len(concepts),
            },
        )
