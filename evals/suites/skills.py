"""Skills: a thin wrapper over `evals.skills.run_skills_eval` (Skill-Extraction files).

The dataset is one of ``../shared/data/skills/<name>.dev.csv`` (``sentence,span,sub_span,
label``; LABEL NOT PRESENT / UNDERSPECIFIED mean abstain), read by path because those files
may not be copied into this repository; ``--catalog`` is the taxonomy (one label per line).
The wrapped evaluation fits on half A and reports half B itself, so this suite stores its
aggregate figures only: no per-example records, hence no intervals and nothing for
`compare` to pair (a known gap).
"""

from __future__ import annotations

from typing import Any

from evals.suites.base import Headline, Progress, RunOptions, SuiteResult


class SkillsSuite:
    name = "skills"
    headlines: tuple[Headline, ...] = ()

    def run(self, options: RunOptions, progress: Progress) -> SuiteResult:
        from evals.skills import DEFAULT_TAXONOMY, run_skills_eval

        name = options.dataset.name.removesuffix(".dev.csv")
        report = run_skills_eval(
            options.dataset.parent,
            options.catalog or DEFAULT_TAXONOMY,
            seed=options.seed,
            files=(name,),
        )
        held_out: dict[str, Any] = report["files"][name]["held_out"]["normaliser"]
        metrics: dict[str, float | None] = {
            k: float(v) for k, v in held_out.items() if isinstance(v, int | float)
        }
        progress(1, 1)
        return SuiteResult(
            records=[],
            metrics=metrics,
            counts={"rows": int(report["files"][name]["rows"])},
            extra={"skills_report": report},
        )
