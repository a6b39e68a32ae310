"""`make demo`: a realistic HRIS stream becomes LMS accounts and memberships, end to end.

Everything runs as it would in production, just locally: the SCIM sandbox and the service
(`talentsync serve`) are separate processes, and the stream arrives as signed HTTP webhooks.

A few workers carry free-text titles the catalog rules cannot place (one of them a prompt
injection), so the run shows AI title mapping and the review queue as well as the rules.
What the AI decided is read back from the service's own API (``GET /reviews``, ``GET
/audit``), as an operator would see it, never from its internals (``api.demo_readback``).
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from standardwebhooks.webhooks import Webhook

from agents.policy.rules import DEMO_POLICY
from api.demo_env import demo_directory, point_cli_at
from api.demo_readback import (
    LMSReport,
    ReviewQueue,
    compare_with_hris,
    fetch_review_queue,
    finished,
)
from core.catalog import Catalog, GroupKind, load_catalog
from core.settings import Settings
from tools.hris.simulator import SimulatedStream, simulate_stream, standard_webhook_body
from tools.lms.scim import ScimLMS

FREE_TEXT_TITLES = 7
"""Workers whose titles only the AI can place: enough to see both outcomes, few enough to
keep the run (and the end-to-end test that runs it) fast."""
ADMIN_KEY_ENV = "TALENTSYNC_ADMIN_API_KEY"


@dataclass(frozen=True)
class DemoConfig:
    api_url: str
    lms_url: str
    webhook_secret: str
    lms_token: str
    admin_key: str

    def environment(self, var_dir: Path) -> dict[str, str]:
        return {
            **os.environ,
            "TALENTSYNC_VAR_DIR": str(var_dir),
            "TALENTSYNC_DATABASE_URL": f"sqlite:///{var_dir}/talentsync.db",
            "TALENTSYNC_LMS_URL": self.lms_url,
            "TALENTSYNC_LMS_TOKEN": self.lms_token,
            "TALENTSYNC_WEBHOOK_SECRETS_STANDARD": self.webhook_secret,
            "TALENTSYNC_ADMIN_API_KEY": self.admin_key,
            "TALENTSYNC_WORKER_THREADS": "2",
            "TALENTSYNC_REVIEW_POLICY_PATH": str(DEMO_POLICY),
            "TALENTSYNC_WORKER_BACKOFF_BASE_S": "0.5",
            "TALENTSYNC_LOG_LEVEL": "WARNING",
        }


def _start(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "api.cli", *args], env=env, stdout=log, stderr=subprocess.STDOUT
    )


def _wait_until_up(url: str, process: subprocess.Popen[bytes], headers: dict[str, str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early with code {process.returncode}")
        try:
            if httpx.get(url, headers=headers, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not come up within 60 s")


def send_stream(
    stream: SimulatedStream, *, api_url: str, secret: str, progress: Progress
) -> Counter[int]:
    """Deliver every webhook in the stream's (chaotic) order, signed as a sender would."""
    signer = Webhook(secret)
    statuses: Counter[int] = Counter()
    task = progress.add_task("Sending signed webhooks", total=len(stream.deliveries))
    with httpx.Client(base_url=api_url, timeout=30) as client:
        for delivery in stream.deliveries:
            body = httpx.Response(200, json=standard_webhook_body(delivery.event)).text
            now = datetime.now(UTC)
            msg_id = delivery.event.event_id
            headers = {
                "content-type": "application/json",
                "webhook-id": msg_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": signer.sign(msg_id, now, body),
            }
            statuses[
                client.post("/webhooks/standard", content=body, headers=headers).status_code
            ] += 1
            progress.advance(task)
    return statuses


def wait_for_drain(*, api_url: str, admin_key: str, progress: Progress) -> dict[str, int]:
    """Until every inbox row is finished (manager refreshes join the queue as it runs)."""
    task = progress.add_task("Provisioning into the LMS", total=None)
    headers = {"authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=api_url, timeout=10, headers=headers) as client:
        while True:
            counts: dict[str, int] = client.get("/admin/inbox/counts").json()
            progress.update(task, completed=finished(counts), total=sum(counts.values()))
            if counts["pending"] + counts["processing"] == 0:
                return counts
            time.sleep(0.3)


def run_demo(
    *,
    console: Console,
    var_dir: Path,
    employees: int,
    api_port: int,
    lms_port: int,
    stay: bool,
    seed: int,
    env_file: Path | None = None,
) -> int:
    """Returns the exit code: 0 only if every event landed and the LMS matches the HRIS.

    ``env_file``: where to leave the CLI pointing at the demo's data (see api/demo_env.py).
    """
    demo_dir = demo_directory(var_dir)
    shutil.rmtree(demo_dir, ignore_errors=True)
    demo_dir.mkdir(parents=True)
    pointed = point_cli_at(demo_dir, env_file=env_file) if env_file is not None else None
    config = DemoConfig(
        api_url=f"http://127.0.0.1:{api_port}",
        lms_url=f"http://127.0.0.1:{lms_port}/v2",
        webhook_secret="whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
        lms_token=secrets.token_urlsafe(24),
        admin_key=secrets.token_urlsafe(24),
    )
    env = config.environment(demo_dir)
    catalog = load_catalog()
    processes = [
        _start(["lms-sandbox", "--port", str(lms_port)], env, demo_dir / "lms-sandbox.log"),
        _start(["serve", "--port", str(api_port)], env, demo_dir / "serve.log"),
    ]
    try:
        console.rule("[bold]TalentSync demo")
        _wait_until_up(
            f"{config.lms_url}/ServiceProviderConfig",
            processes[0],
            {"authorization": f"Bearer {config.lms_token}"},
        )
        _wait_until_up(f"{config.api_url}/healthz", processes[1], {})
        console.print(f"LMS sandbox (SCIM 2.0): {config.lms_url}   API: {config.api_url}")
        stream = simulate_stream(
            catalog,
            employees=employees,
            seed=seed,
            start=datetime.now(UTC) - timedelta(days=365),
            free_text_titles=FREE_TEXT_TITLES,
        )
        console.print(
            f"Simulated HRIS: {len(stream.final)} employees, {len(stream.deliveries)} deliveries "
            "(with duplicates and out-of-order arrivals); "
            f"{len(stream.free_text_titles)} with free-text titles the catalog rules cannot "
            "place (one a prompt-injection attempt)"
        )
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        started = time.monotonic()
        with Progress(*columns, console=console) as progress:
            statuses = send_stream(
                stream, api_url=config.api_url, secret=config.webhook_secret, progress=progress
            )
            counts = wait_for_drain(
                api_url=config.api_url, admin_key=config.admin_key, progress=progress
            )
        elapsed = time.monotonic() - started
        lms = ScimLMS.from_settings(
            Settings(lms_url=config.lms_url, lms_token=SecretStr(config.lms_token))
        )
        queue = fetch_review_queue(
            stream.free_text_titles,
            api_url=config.api_url,
            admin_key=config.admin_key,
            catalog=catalog,
        )
        report = compare_with_hris(stream.final, lms=lms, catalog=catalog, titles=queue.titles)
        _print_summary(console, statuses, counts, report, elapsed, queue)
        _print_titles(console, queue, catalog)
        console.print(
            f"LMS matches the HRIS (account state and every group) for "
            f"[bold]{report.matching}/{len(stream.final)}[/bold] employees"
            + (
                f" ({report.held} waiting for review: the LMS is as before their change, and "
                "the change waiting is the HRIS's groups plus the AI's role)"
                if report.held
                else ""
            )
        )
        for line in report.mismatches[:10]:
            console.print(f"  [red]{line}[/red]")
        console.print(
            f"Review queue: {config.api_url}/ui/reviews   sign in by pasting the admin key "
            f"({ADMIN_KEY_ENV} of this demo's service"
            + (", printed below)" if stay else "; `make demo` keeps it up and prints it)")
        )
        if pointed is not None:
            console.print(pointed.message, soft_wrap=True)
        if stay:
            console.print(
                f"\nServing. API docs: {config.api_url}/docs   LMS: {config.lms_url}/Users\n"
                f"LMS token: {config.lms_token}   admin key: {config.admin_key}\n"
                "Press Ctrl-C to stop."
            )
            try:
                while all(p.poll() is None for p in processes):
                    time.sleep(1)
            except KeyboardInterrupt:
                console.print("Stopping.")
        return 0 if not report.mismatches and counts["dead"] == 0 else 1
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _print_summary(
    console: Console,
    statuses: Counter[int],
    counts: dict[str, int],
    report: LMSReport,
    elapsed: float,
    queue: ReviewQueue,
) -> None:
    table = Table("", "count", title="Summary", show_header=False)
    table.add_row("deliveries accepted (202)", str(statuses[202]))
    table.add_row("duplicates answered 200", str(statuses[200]))
    table.add_row("refused (4xx/5xx)", str(sum(n for s, n in statuses.items() if s >= 400)))
    table.add_row("applied", str(counts["applied"]))
    table.add_row("stale (older than what was applied)", str(counts["stale"]))
    table.add_row("dead-lettered", str(counts["dead"]))
    table.add_row("LMS users (active)", f"{report.users} ({report.active_users})")
    table.add_row("LMS group memberships", str(report.memberships))
    table.add_row("events per second", f"{counts['applied'] / elapsed:.1f}")
    table.add_row(
        "manager refreshes (first report joined / last left)",
        str(finished(counts) - statuses[202]),
    )
    table.add_row("titles only the AI could place", str(len(queue.titles)))
    table.add_row("  placed by the AI automatically", str(queue.count("applied")))
    table.add_row("  waiting for review", str(queue.count("held")))
    rules = ", ".join(f"{rule} {n}" for rule, n in sorted(queue.rules.items()))
    table.add_row("reviews pending (GET /reviews)", f"{queue.pending} (by rule: {rules or '-'})")
    console.print(table)


def _print_titles(console: Console, queue: ReviewQueue, catalog: Catalog) -> None:
    """Each free-text title: what the AI made of it, and whether that is the real role."""
    if not queue.titles:
        return
    table = Table(
        "worker",
        "title the AI saw",
        "AI's role",
        "confidence",
        "outcome",
        "right role?",
        title="AI title mapping (from GET /reviews and GET /audit)",
    )
    for outcome in sorted(queue.titles.values(), key=lambda o: (o.status, o.external_id)):
        role = catalog.by_id.get(outcome.role_id or "")
        intended = next(
            (
                g
                for g in catalog.rules.job_codes.get(outcome.sent.job_code, [])
                if catalog.by_id[g].kind is GroupKind.role
            ),
            None,
        )
        if outcome.status == "held":
            shown = "[yellow]held[/yellow]: " + ", ".join(outcome.rules)
            if outcome.flags:
                shown += f" ({', '.join(outcome.flags)})"
        elif outcome.status == "applied":
            shown = "[green]applied[/green]"
        else:
            shown = "no AI decision"
        right = "-"  # an injected title names no real role to be right about
        if role is not None and not outcome.sent.injection:
            right = "yes" if role.id == intended else "no"
        table.add_row(
            outcome.external_id,
            outcome.seen_title or outcome.sent.title,
            role.display_name.removeprefix("Role: ") if role else "-",
            f"{outcome.confidence:.2f}" if outcome.confidence is not None else "-",
            shown,
            right,
        )
    console.print(table)
