"""The `talentsync` command line. Output goes through `rich`; logic lives in the layers below."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import Engine

from agents.runtime.replay import ReplayError, replay_decision
from agents.title_agent.stack import refit_title_adapter
from api.cli_database import announce_database, open_database
from api.cli_eval_support import dataset_and_catalog, one_line_errors
from api.cli_progress import progress_bar
from core import api_keys, audit, inbox
from core.api_keys import ApiKeyError, Role
from core.audit import AuditAction, AuditEntry, AuditFilter
from core.catalog import load_catalog
from core.db import as_utc
from core.inbox import NotReplayableError
from core.settings import Settings, get_settings
from tools.mapping.skill_mapping import SkillMapping, build_skill_mapping
from tools.titles.adapter_refit import AdapterFit, AdapterSource
from tools.titles.adapter_store import AdapterKind

app = typer.Typer(help="TalentSync: keeps the LMS in step with the HRIS.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(name)s: %(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False)],
        force=True,
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[
        int | None, typer.Option(help="Worker threads (default: TALENTSYNC_WORKER_THREADS).")
    ] = None,
) -> None:
    """Run the API and the inbox workers."""
    from api.app import create_app

    settings = get_settings()
    _configure_logging(settings)
    count = settings.worker_threads if workers is None else workers
    announce_database(settings)
    uvicorn.run(create_app(settings, workers=count), host=host, port=port, log_config=None)


@app.command()
def worker(
    threads: Annotated[int, typer.Option(help="Worker threads in this process.")] = 1,
) -> None:
    """Run inbox workers only (scale out by starting more of these)."""
    from agents.runtime.workers import running_workers
    from agents.services import open_services

    settings = get_settings()
    _configure_logging(settings)
    engine = open_database(settings)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    with open_services(settings, engine) as services, running_workers(services, count=threads):
        done.wait()


@app.command("lms-sandbox")
def lms_sandbox(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8001,
    token: Annotated[
        str | None, typer.Option(help="Bearer token to require (default: TALENTSYNC_LMS_TOKEN).")
    ] = None,
    catalog: Annotated[Path | None, typer.Option(help="Catalog YAML to preload.")] = None,
) -> None:
    """Run the bundled SCIM 2.0 LMS sandbox, preloaded with the catalog's groups."""
    from tools.lms.sandbox import serve_sandbox

    settings = get_settings()
    _configure_logging(settings)
    bearer = token or (settings.lms_token.get_secret_value() if settings.lms_token else None)
    loaded = load_catalog(catalog or settings.catalog_path)
    console.print(
        f"LMS sandbox (SCIM 2.0) on http://{host}:{port}/v2 with {len(loaded.groups)} groups"
    )
    serve_sandbox(host, port, loaded, bearer)


@app.command()
def replay(receipt_id: Annotated[str, typer.Argument(help="Receipt id of a dead letter.")]) -> None:
    """Send a dead-lettered event round again."""
    engine = open_database(get_settings())
    try:
        row = inbox.replay(engine, receipt_id=receipt_id)
    except KeyError:
        console.print(f"[red]No inbox event {receipt_id}[/red]")
        raise typer.Exit(1) from None
    except NotReplayableError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    console.print(f"[green]{row.id}[/green] is pending again ({row.event_type}, {row.source}).")


@app.command("inbox")
def inbox_status(
    dead: Annotated[
        bool, typer.Option("--dead", help="List dead letters with their errors.")
    ] = False,
) -> None:
    """Show inbox counts, or the dead letters."""
    engine = open_database(get_settings())
    if not dead:
        table = Table("status", "events", title="Inbox")
        for status, count in inbox.status_counts(engine).items():
            table.add_row(status, str(count))
        console.print(table)
        return
    table = Table(title="Dead letters")
    table.add_column("receipt", no_wrap=True)  # copied into `talentsync replay`: never cut
    for column in ("type", "employee", "attempts", "last error"):
        table.add_column(column)
    for row in inbox.list_by_status(engine, status=inbox.InboxStatus.dead):
        table.add_row(
            row.id,
            row.event_type,
            row.employee_external_id,
            str(row.attempts),
            row.last_error or "",
        )
    console.print(table)


@app.command()
def demo(
    employees: Annotated[int, typer.Option(help="Employees in the simulated HRIS.")] = 320,
    api_port: Annotated[int, typer.Option()] = 8000,
    lms_port: Annotated[int, typer.Option()] = 8001,
    stay: Annotated[bool, typer.Option(help="Keep serving until Ctrl-C after the summary.")] = True,
    seed: Annotated[int, typer.Option()] = 7,
    write_env: Annotated[
        bool,
        typer.Option(
            help="Write ./.env pointing the CLI at the demo's data (never over your own .env)."
        ),
    ] = True,
) -> None:
    """Start sandbox, API and worker, replay a realistic signed HRIS stream, print a summary.

    Its state goes to TALENTSYNC_VAR_DIR/demo, and ./.env points later commands there."""
    from api.demo import run_demo

    raise typer.Exit(
        run_demo(
            console=console,
            var_dir=get_settings().var_dir,
            employees=employees,
            api_port=api_port,
            lms_port=lms_port,
            stay=stay,
            seed=seed,
            env_file=Path(".env") if write_env else None,
        )
    )


@app.command()
def erase(
    external_id: Annotated[str, typer.Argument(help="HRIS id of the person to erase.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase one person from TalentSync (right to erasure); cannot be undone."""
    from agents.runtime.erasure import ErasureBusyError, erase_employee

    settings = get_settings()
    _configure_logging(settings)
    if not yes:
        typer.confirm(
            f"Erase {external_id} from TalentSync? Their vault entries become unreadable for good",
            abort=True,
        )
    engine = open_database(settings)
    try:
        report = erase_employee(
            engine=engine, settings=settings, external_id=external_id, requested_by="admin:cli"
        )
    except ErasureBusyError as busy:
        console.print(f"[yellow]{busy}[/yellow]; run it again then (it is safe to repeat).")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    console.print(f"[green]Erased {external_id}[/green]; what remains is keyed by")
    console.print(report.subject, soft_wrap=True)  # one unbroken token: copied into queries
    table = Table("what", "count", title="Erasure report")
    for name, value in report.model_dump(exclude={"subject", "out_of_scope"}).items():
        table.add_row(name.replace("_", " "), str(value))
    console.print(table)
    for note in report.out_of_scope:
        console.print(f"[yellow]Not done here:[/yellow] {note}")


keys_app = typer.Typer(help="API keys for people and scripts.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _keys_engine() -> Engine:
    return open_database(get_settings())


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who the key is for, e.g. ana.")],
    role: Annotated[Role, typer.Option(help="What the key may do.", case_sensitive=False)],
) -> None:
    """Create an API key; it is printed once and only its hash is kept."""
    engine = _keys_engine()
    try:
        row, token = api_keys.create_key(engine, name=name, role=role)
    except ApiKeyError as error:
        console.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    console.print(f"[green]Created[/green] {escape(row.name)} ({row.role}):")
    console.print(token, soft_wrap=True, markup=False, highlight=False)  # one unbroken token
    console.print(
        "[yellow]Copy it now: it will not be shown again.[/yellow] "
        "Send it as 'Authorization: Bearer <key>'."
    )


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (prefixes only, never the keys or their hashes)."""
    engine = _keys_engine()
    try:
        rows = api_keys.list_keys(engine)
    finally:
        engine.dispose()
    table = Table(title="API keys")
    for column in ("name", "role", "prefix", "created", "last used", "revoked"):
        table.add_column(column, no_wrap=column in ("name", "role", "prefix"))
    for row in rows:
        table.add_row(
            escape(row.name),
            row.role,
            row.key_prefix + "…",
            _when(row.created_at),
            _when(row.last_used_at),
            _when(row.revoked_at),
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    name: Annotated[str, typer.Argument(help="Whose active key to revoke.")],
) -> None:
    """Revoke a person's active key; it stops working on the next request."""
    engine = _keys_engine()
    try:
        row = api_keys.revoke_key(engine, name=name)
    except ApiKeyError as error:
        console.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    console.print(f"[green]Revoked[/green] {escape(row.name)}'s key {row.key_prefix}…")


def _when(moment: datetime | None) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


eval_app = typer.Typer(help="Evaluation suites on real reference data.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


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
    _configure_logging(get_settings())
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

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

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
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=as_json,
    ) as bar:
        task = bar.add_task(f"eval {suite.value}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        with one_line_errors():
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


audit_app = typer.Typer(
    help="The audit trail: verify the chain, query and export it, purge old run data.",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")


class AuditFormat(StrEnum):
    table = "table"
    jsonl = "jsonl"
    csv = "csv"


AUDIT_TABLE_ROWS = 100


def _audit_engine(settings: Settings) -> Engine:
    return open_database(settings)


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the hash chain from its first entry; exit 1 naming the first broken one."""
    engine = _audit_engine(get_settings())
    try:
        report = audit.verify(engine)
    finally:
        engine.dispose()
    if report.ok:
        console.print(f"[green]Audit chain intact[/green]: {report.checked} entries.")
        if report.head_seq is not None:
            console.print("Head (keep it elsewhere to detect truncation):")
            console.print(f"{report.head_seq} {report.head_hash}", soft_wrap=True)
        return
    console.print(f"[red]Audit chain broken at seq {report.first_broken_seq}[/red]")
    console.print(escape(report.problem or ""), soft_wrap=True)
    console.print(f"{report.checked} entries before it verified.")
    raise typer.Exit(1)


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint="--since") from None


@audit_app.command("query")
def audit_query(
    employee: Annotated[
        str | None, typer.Option(help="HRIS id; matched through its pseudonym.")
    ] = None,
    subject: Annotated[
        str | None, typer.Option(help="Pseudonym (emp_...), e.g. of an erased person.")
    ] = None,
    action: Annotated[AuditAction | None, typer.Option(case_sensitive=False)] = None,
    run: Annotated[str | None, typer.Option(help="Receipt (run) id.")] = None,
    since: Annotated[str | None, typer.Option(help="ISO 8601; UTC without an offset.")] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"At most N entries (default: {AUDIT_TABLE_ROWS} in a table, all in exports).",
        ),
    ] = None,
    output: Annotated[
        AuditFormat, typer.Option("--format", case_sensitive=False, help="table, jsonl or csv.")
    ] = AuditFormat.table,
    oldest: Annotated[
        bool,
        typer.Option("--oldest", help="The oldest entries (and oldest first in the table)."),
    ] = False,
) -> None:
    """Audit entries, the newest first (--oldest: from the start of the chain).

    jsonl and csv go to stdout as exports that re-verify, so they keep chain order; with
    --limit N they hold the newest N (the oldest N with --oldest)."""
    from core.vault import load_keys, pseudonym

    settings = get_settings()
    if employee is not None and subject is not None:
        raise typer.BadParameter("give --employee or --subject, not both")
    if employee is not None:
        subject = pseudonym(employee, secret=load_keys(settings).pseudonym)
    where = AuditFilter(subject=subject, action=action, receipt_id=run, since=_since(since))
    engine = _audit_engine(settings)
    try:
        if output == AuditFormat.table:
            read = audit.query if oldest else audit.latest
            rows = read(engine, where=where, limit=limit or AUDIT_TABLE_ROWS)
            console.print(_audit_table(rows, newest_first=not oldest))
            return
        start = 0
        if limit is not None and not oldest:
            start = audit.after_seq_of_newest(engine, where=where, count=limit)
        pages = audit.iter_query(engine, where=where, limit=limit, after_seq=start)
        if output == AuditFormat.csv:
            audit.export_csv([], sys.stdout)
        for page in pages:
            if output == AuditFormat.csv:
                audit.export_csv(page, sys.stdout, header=False)
            else:
                audit.export_jsonl(page, sys.stdout)
    finally:
        engine.dispose()


def _audit_table(rows: list[AuditEntry], *, newest_first: bool) -> Table:
    order = "newest first" if newest_first else "oldest first"
    table = Table(title=f"Audit trail ({len(rows)} entries)", caption=order)
    table.add_column("seq", justify="right", no_wrap=True)
    for column in ("at", "action", "actor", "subject", "run", "rule", "confidence"):
        table.add_column(column, no_wrap=column in ("at", "action"))
    for row in rows:
        table.add_row(
            str(row.seq),
            as_utc(row.at).strftime("%Y-%m-%d %H:%M:%S"),
            str(row.action),
            escape(row.actor),
            row.subject[:12] + "…" if row.subject else "",
            escape(row.receipt_id or ""),
            escape(row.rule or ""),
            "" if row.confidence is None else f"{row.confidence:.2f}",
        )
    return table


@audit_app.command("replay")
def audit_replay(
    seq: Annotated[int, typer.Argument(help="Sequence number of a decision_made entry.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Re-run a recorded AI decision with the same input, prompt version and model."""
    settings = get_settings()
    engine = _audit_engine(settings)
    try:
        result = replay_decision(settings, engine, seq=seq)
    except ReplayError as error:
        console.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    if as_json:
        console.print_json(data=result.model_dump() | {"same": result.same, "exact": result.exact})
        raise typer.Exit(0 if result.same else 1)
    table = Table(title=f"Replay of decision {seq} ({result.mapper})")
    table.add_column("")
    table.add_column("recorded")
    table.add_column("replayed")
    table.add_row("title", escape(result.title), escape(result.title))
    table.add_row("role", str(result.recorded_role), str(result.replayed_role))
    table.add_row(
        "confidence", f"{result.recorded_confidence}", f"{result.replayed_confidence:.2f}"
    )
    table.add_row("prompt", str(result.prompt), str(result.prompt_now))
    table.add_row("model", str(result.model), str(result.model))
    console.print(table)
    verdict = "[green]same decision[/green]" if result.same else "[red]different decision[/red]"
    if not result.exact:
        verdict += " (the prompt file changed since: not an exact replay)"
    console.print(verdict)
    raise typer.Exit(0 if result.same else 1)


@audit_app.command("retention")
def audit_retention(
    days: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Purge runs finished more than N days ago "
            "(default: TALENTSYNC_AUDIT_RETENTION_DAYS).",
        ),
    ] = None,
) -> None:
    """Purge inbox payloads and checkpoints of old finished runs; recorded in the trail."""
    from agents.checkpointer import open_checkpointer
    from agents.runtime.retention import apply_retention

    settings = get_settings()
    _configure_logging(settings)
    days = days or settings.audit_retention_days
    if days is None:
        console.print(
            "[yellow]No retention period[/yellow] (TALENTSYNC_AUDIT_RETENTION_DAYS is unset "
            "and no --days): keeping everything."
        )
        return
    engine = _audit_engine(settings)
    try:
        with open_checkpointer(settings) as checkpointer:
            report = apply_retention(engine, checkpointer, older_than_days=days)
    finally:
        engine.dispose()
    table = Table("what", "count", title=f"Retention: finished before {_when(report.cutoff)}")
    table.add_row("inbox payloads redacted", str(report.inbox_payloads_redacted))
    table.add_row("checkpoint threads deleted", str(report.checkpoint_threads_deleted))
    console.print(table)


@audit_app.command("pii-scan")
def audit_pii_scan() -> None:
    """List entries holding text the PII firewall refuses today (types only, never values);
    exit 1 if any. The chain cannot be rewritten: see README, Audit trail."""
    from agents.runtime.audit_pii_scan import scan_audit
    from pii.guard import get_guard

    settings = get_settings()
    engine = _audit_engine(settings)
    try:
        catalog = load_catalog(settings.catalog_path)
        flagged = list(scan_audit(engine, firewall=get_guard().firewall, catalog=catalog))
    finally:
        engine.dispose()
    if not flagged:
        console.print("[green]No audit entry holds text the PII firewall refuses.[/green]")
        return
    table = Table("seq", "action", "run", "entity types", title="Entries to report")
    for entry in flagged:
        table.add_row(
            str(entry.seq), entry.action, entry.receipt_id or "", ", ".join(entry.entity_types)
        )
    console.print(table)
    raise typer.Exit(1)


titles_app = typer.Typer(help="AI title mapping: the learned title adapter.", no_args_is_help=True)
app.add_typer(titles_app, name="titles")


@titles_app.command("fit-adapter")
def titles_fit_adapter(
    source: Annotated[
        AdapterSource,
        typer.Option(
            "--from",
            case_sensitive=False,
            help="memory: approved mappings; catalog: the catalog's labels; auto: memory once "
            "there are TALENTSYNC_TITLE_ADAPTER_MIN_APPROVALS of them.",
        ),
    ] = AdapterSource.auto,
) -> None:
    """Fit the title adapter and store it; serve and worker use it from their next start."""
    settings = get_settings()
    _configure_logging(settings)
    started = time.perf_counter()
    try:
        fit = refit_title_adapter(
            settings, catalog=load_catalog(settings.catalog_path), source=source
        )
    except ValueError as error:
        console.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(1) from None
    table = Table("", "", title="Title adapter", show_header=False)
    table.add_row("learnt from", _learnt_from(fit, settings))
    table.add_row("embedder", escape(fit.key.model_id))
    table.add_row("catalog digest", fit.key.catalog_digest)
    table.add_row("key digest", fit.key.digest)
    table.add_row("file", escape(str(fit.path)))
    table.add_row("fit time", f"{fit.seconds:.1f} s")
    table.add_row("total time", f"{time.perf_counter() - started:.1f} s")
    console.print(table)


def _learnt_from(fit: AdapterFit, settings: Settings) -> str:
    if fit.key.kind is AdapterKind.memory:
        return f"approved memory ({fit.key.approvals} mappings)"
    return (
        f"catalog labels ({fit.memory_size} approved mappings; --from auto switches to them "
        f"at {settings.title_adapter_min_approvals})"
    )


skills_app = typer.Typer(help="Profile skills: the taxonomy index and trying the mapping.")
app.add_typer(skills_app, name="skills", no_args_is_help=True)


SKILLS_INDEX_PROGRESS = "skills index (labels embedded once, then kept)"


def _skill_mapping(settings: Settings) -> SkillMapping:
    mapping = build_skill_mapping(settings)
    if mapping is None:
        err_console.print("[red]skills are switched off (TALENTSYNC_SKILL_MAPPER=off)[/red]")
        raise typer.Exit(1)
    return mapping


@skills_app.command("index")
def skills_index() -> None:
    """Build the skills index now (embeds the taxonomy's labels the first time, 30 s to a
    few minutes), so that the first profile with skills does not wait for it."""
    settings = get_settings()
    _configure_logging(settings)
    started = time.perf_counter()
    mapping = _skill_mapping(settings)
    with progress_bar(err_console, SKILLS_INDEX_PROGRESS) as progress:
        concepts = mapping.prepare(progress=progress)
    console.print(
        f"skills index ready: {concepts} concepts in {time.perf_counter() - started:.1f} s"
    )


@skills_app.command("map")
def skills_map(
    texts: Annotated[list[str], typer.Argument(help="Skill strings, as a profile holds them.")],
) -> None:
    """Place skill strings on the taxonomy as the provisioning graph does, to try it."""
    settings = get_settings()
    _configure_logging(settings)
    mapping = _skill_mapping(settings)
    with progress_bar(err_console, SKILLS_INDEX_PROGRESS) as progress:
        mapping.prepare(progress=progress)  # the first time: embeds the taxonomy's labels
    decisions = mapping.map(texts)
    table = Table("skill", "concept", "confidence", "method", title="Skills")
    for decision in decisions:
        table.add_row(
            escape(decision.text),
            escape(decision.label or "-"),
            f"{decision.confidence:.2f}",
            decision.method,
        )
    console.print(table)


if __name__ == "__main__":
    app()
