"""`talentsync audit`: verify the chain, query and export it, replay a recorded decision,
purge old run data and scan for text the PII firewall refuses today."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from agents.runtime.replay import ReplayError, replay_decision
from api.cli.database import opened_database
from api.cli.output import configure_logging, console, exit_on, when
from core import audit
from core.audit import AuditAction, AuditEntry, AuditFilter
from core.catalog import load_catalog
from core.db import as_utc
from core.settings import get_settings

audit_app = typer.Typer(
    help="The audit trail: verify the chain, query and export it, purge old run data.",
    no_args_is_help=True,
)


class AuditFormat(StrEnum):
    table = "table"
    jsonl = "jsonl"
    csv = "csv"


AUDIT_TABLE_ROWS = 100


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the hash chain from its first entry; exit 1 naming the first broken one."""
    with opened_database(get_settings()) as engine:
        report = audit.verify(engine)
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
    with opened_database(settings) as engine:
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
    with opened_database(settings) as engine, exit_on(ReplayError, code=2):
        result = replay_decision(settings, engine, seq=seq)
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
    configure_logging(settings)
    days = days or settings.audit_retention_days
    if days is None:
        console.print(
            "[yellow]No retention period[/yellow] (TALENTSYNC_AUDIT_RETENTION_DAYS is unset "
            "and no --days): keeping everything."
        )
        return
    with opened_database(settings) as engine, open_checkpointer(settings) as checkpointer:
        report = apply_retention(engine, checkpointer, older_than_days=days)
    table = Table("what", "count", title=f"Retention: finished before {when(report.cutoff)}")
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
    with opened_database(settings) as engine:
        catalog = load_catalog(settings.catalog_path)
        flagged = list(scan_audit(engine, firewall=get_guard().firewall, catalog=catalog))
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
