"""PII detection report on presidio-research's synthetic dataset, by hand.

    .venv/bin/python -m evals.fitting.pii [--path FILE] [--limit N] [--show-misses N]
        [--with-location]

The scoring and its conventions are in `evals.pii_spans` (shared with the pii suite and
``talentsync eval pii``); this adds what a person tuning the scrubber wants to see: the
misses themselves, and the table with cities and countries in scope.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from evals.pii_spans import (
    DATASET_TO_ENTITY,
    DEFAULT_DATASET,
    LOCATION_SCOPE,
    evaluate,
    load_examples,
    render,
)
from pii.scrubber import Scrubber


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--path", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--show-misses", type=int, default=0, help="print N misses per kind")
    parser.add_argument(
        "--with-location",
        action="store_true",
        help="also score cities/countries (GPE), with the scrubber replacing LOCATION",
    )
    args = parser.parse_args(argv)
    examples = load_examples(args.path)[: args.limit]
    report = evaluate(Scrubber(), examples)
    console = Console()
    render(report, console)
    if args.with_location:
        with_location = evaluate(
            Scrubber(operators={"LOCATION": "replace"}),
            examples,
            {**DATASET_TO_ENTITY, **LOCATION_SCOPE},
        )
        render(
            with_location,
            console,
            f"For comparison: with cities/countries in scope, {with_location.examples} examples",
        )
    if args.show_misses:
        for kind in ("fn", "fp"):
            for miss in [m for m in report.misses if m.kind == kind][: args.show_misses]:
                console.print(f"{kind} {miss.entity_type}: {miss.value!r} in {miss.text!r}")
    return 0 if report.meets_targets() else 1


if __name__ == "__main__":
    raise SystemExit(main())
