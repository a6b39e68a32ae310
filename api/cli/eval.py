"""`talentsync eval`: run the evaluation suites, compare and report their runs, and the gate
that CI runs on every prompt change."""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.eval_support import dataset_and_catalog, one_line_errors
from api.cli.output import configure_logging, console, err_console
from api.cli.progress import progress_bar
from core.settings import get_settings

eval_app = typer.Typer(help="Evaluation suites on real reference data.", no_args_is_help=True)


@eval_app.command("pii")
def eval_pii(
    path: Annotated[Path | None, typer.Option(help="Dataset (presidio-research format).")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N examples.")] = None,
) -> None:
    """Span-level precision, recall and F2 of the PII scrubber, per entity type."""
    from evals.pii_spans import DEFAULT_DATASET, evaluate, load_examples, render
    from pii.scrubber import Scrubber

    with one_line_errors():
        examples = load_examples(path or DEFAULT_DATASET)[:limit]
    report = evaluate(Scrubber(), examples)
    render(report, console)
    raise typer.Exit(0 if report.meets_targets() else 1)


class SuiteName(StrEnum):
    titles = "titles"
    skills = "skills"
    pii = "pii"
    injection = "injection"
    e2e = "e2e"
    over_redaction = "over-redaction"


class MapperName(StrEnum):
    embedded = "embedded"
    llm = "llm"


class AdapterChoice(StrEnum):
    none = "none"
    catalog = "catalog"
    memory = "memory"


def _quiet_eval_logging() -> None:
    """Per-example agent chatter (rejected answers are the point of the injection suite)
    would bury the progress bar; evals' own messages stay."""
    configure_logging(get_settings())
    for name in ("agents", "tools", "vectorstore", "presidio-analyzer"):
        logging.getLogger(name).setLevel(logging.WARNING)


@eval_app.command("run")
def eval_run(
    suite: Annotated[SuiteName, typer.Argument(help="Which suite to run.")],
    dataset: Annotated[
        Path | None,
        typer.Option(
            help="Dataset file (default: the suite's committed one; see evals/datasets/README.md)."
        ),
    ] = None,
    catalog: Annotated[
        Path | None, typer.Option(help="ESCO occupations CSV or LMS catalog YAML.")
    ] = None,
    memory: Annotated[
        Path | None, typer.Option(help="Approved history (JobBERT CSV): the warm setting.")
    ] = None,
    mapper: Annotated[MapperName, typer.Option(help="Title mapper.")] = MapperName.embedded,
    adapter: Annotated[
        AdapterChoice,
        typer.Option(help="Title adapter fitted before scoring (titles): catalog or memory."),
    ] = AdapterChoice.none,
    prompt: Annotated[str, typer.Option(help="Prompt reference id@version.")] = "title_mapping@1",
    model: Annotated[
        str | None, typer.Option(help="Chat model name at TALENTSYNC_LLM_BASE_URL (llm).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="A seeded sample of N examples.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for sampling and bootstrap.")] = 20260101,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default var/evals/<run_id>).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Exactly one JSON object on stdout, nothing else.")
    ] = False,
    max_failure_share: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="llm: exit 1 when a larger share of examples failed (timeouts, refused or "
            "unreadable answers); the run is stored either way.",
        ),
    ] = 0.5,
) -> None:
    """Run one evaluation suite and store it (summary.json, examples.jsonl)."""
    import json

    from evals.runner import run_suite
    from evals.suites import RunOptions

    _quiet_eval_logging()
    with one_line_errors():
        dataset, catalog = dataset_and_catalog(suite.value, dataset, catalog)
    options = RunOptions(
        dataset=dataset,
        catalog=catalog,
        memory=memory,
        mapper=mapper.value,
        adapter=adapter.value,
        prompt=prompt,
        model=model,
        limit=limit,
        seed=seed,
    )
    with (
        progress_bar(err_console, f"eval {suite.value}", transient=as_json) as progress,
        one_line_errors(),
    ):
        run = run_suite(suite.value, options, out=out, progress=progress, argv=sys.argv[1:])
    if as_json:
        sys.stdout.write(json.dumps(run.summary, allow_nan=False) + "\n")
    else:
        _print_summary(run.summary)
    _fail_past_failure_share(run.summary, max_failure_share)


def _fail_past_failure_share(summary: dict[str, Any], allowed: float) -> None:
    """A model run where most examples failed measured the failures, not the model."""
    share = summary["metrics"].get("failure_share")
    if share is None or share <= allowed:
        return
    kinds = summary.get("extra", {}).get("failures", {})
    named = ", ".join(f"{kind} {n}" for kind, n in kinds.items())
    err_console.print(
        f"[red]FAIL[/red] {share:.0%} of examples failed ({escape(named)}), more than the "
        f"{allowed:.0%} allowed (--max-failure-share); run stored in "
        f"{escape(str(summary['run_dir']))}"
    )
    raise typer.Exit(1)


def _print_summary(summary: dict[str, object]) -> None:
    from evals.display import format_metric

    table = Table(title=f"{summary['suite']}: run {summary['run_id']}")
    for column in ("metric", "value", "95% CI"):
        table.add_column(column)
    metrics = summary["metrics"]
    intervals = summary.get("intervals") or {}
    if not isinstance(metrics, dict) or not isinstance(intervals, dict):
        raise TypeError("a run summary holds metrics and intervals as mappings")
    for name, value in metrics.items():
        interval = intervals.get(name)
        ci = f"[{interval[0]:.4f}, {interval[1]:.4f}]" if interval and None not in interval else ""
        shown = format_metric(value, name=name)
        table.add_row(name, shown, ci)
    console.print(table)
    extra = summary.get("extra")
    if isinstance(extra, dict) and "failures" in extra:
        kinds = ", ".join(f"{kind} {n}" for kind, n in extra["failures"].items()) or "none"
        console.print(f"failed examples by kind: {escape(kinds)}")
    console.print(f"stored in {escape(str(summary['run_dir']))}")


@eval_app.command("compare")
def eval_compare(
    run_a: Annotated[str, typer.Argument(help="Run directory or id (the reference).")],
    run_b: Annotated[str, typer.Argument(help="Run directory or id (the candidate).")],
) -> None:
    """Headline deltas B - A with paired-bootstrap 95% intervals over shared examples."""
    from evals.runner import compare_runs, load_run

    with one_line_errors():
        a, b = load_run(run_a), load_run(run_b)
        deltas, shared = compare_runs(a, b)
    table = Table(title=f"{a.run_id} -> {b.run_id} ({shared} shared examples)")
    for column in ("metric", "A", "B", "delta", "95% CI", "significant"):
        table.add_column(column)
    for d in deltas:
        table.add_row(
            d.metric,
            f"{d.a:.4f}",
            f"{d.b:.4f}",
            f"{d.delta:+.4f}",
            f"[{d.interval.low:+.4f}, {d.interval.high:+.4f}]",
            "[bold]yes[/bold]" if d.significant else "no",
        )
    console.print(table)


@eval_app.command("report")
def eval_report(
    run: Annotated[str, typer.Argument(help="Run directory or id.")],
    compare: Annotated[str | None, typer.Option(help="Another run to compare with.")] = None,
) -> None:
    """Write report.md and a self-contained report.html (inline SVG plots) into the run."""
    from evals.report import write_report
    from evals.runner import load_run

    with one_line_errors():
        md, html_path = write_report(load_run(run), load_run(compare) if compare else None)
    console.print(f"wrote {escape(str(md))} and {escape(str(html_path))}")


@eval_app.command("gate")
def eval_gate(
    prompt: Annotated[
        str, typer.Option(help="Prompt version to evaluate (title_mapping@N).")
    ] = "title_mapping@1",
    out: Annotated[Path | None, typer.Option(help="Where to store the gate's runs.")] = None,
) -> None:
    """Run the suites on the small committed datasets; exit 1 naming each regressed metric."""
    from evals.gate import run_gate

    _quiet_eval_logging()
    with one_line_errors():
        result = run_gate(prompt=prompt, out=out)
    for line in result.checked:
        console.print(escape(line))
    if result.passed:
        console.print(f"[green]eval gate passed[/green] ({len(result.checked)} metrics, {prompt})")
        return
    for failure in result.failures:
        console.print(f"[red]FAIL[/red] {escape(failure)}")
    raise typer.Exit(1)
