"""`make demo`: a realistic HRIS stream becomes LMS accounts and memberships, end to end.

Everything runs as it would in production, just locally: the SCIM sandbox and the service
(`talentsync serve`) are separate processes, and the stream arrives as signed HTTP webhooks.

A few workers carry free-text titles the catalog rules cannot place (one of them a prompt
injection), so the run shows AI title mapping and the review queue as well as the rules.
What the AI decided is read back from the service's own API (``GET /reviews``, ``GET
/audit``), as an operator would see it, never from its internals.
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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from standardwebhooks.webhooks import Webhook

from agents.policy.rules import DEMO_POLICY
from api.demo_env import demo_directory, point_cli_at
from core.catalog import Catalog, GroupKind, load_catalog
from core.employee import Employee, EmploymentStatus
from core.settings import Settings
from tools.hris.simulator import SimulatedStream, simulate_stream, standard_webhook_body
from tools.hris.simulator.free_text import FreeTextTitle
from tools.lms.scim import ScimLMS
from tools.mapping.role_directory import RoleDirectory
from tools.mapping.rules import RulesMapper

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


def _finished(counts: dict[str, int]) -> int:
    """Inbox rows no worker will touch again on its own: applied, stale, dead, and parked
    for review or rejected (only a person moves those on)."""
    return sum(n for status, n in counts.items() if status not in ("pending", "processing"))


def wait_for_drain(*, api_url: str, admin_key: str, progress: Progress) -> dict[str, int]:
    """Until every inbox row is finished (manager refreshes join the queue as it runs)."""
    task = progress.add_task("Provisioning into the LMS", total=None)
    headers = {"authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=api_url, timeout=10, headers=headers) as client:
        while True:
            counts: dict[str, int] = client.get("/admin/inbox/counts").json()
            progress.update(task, completed=_finished(counts), total=sum(counts.values()))
            if counts["pending"] + counts["processing"] == 0:
                return counts
            time.sleep(0.3)


@dataclass(frozen=True)
class TitleOutcome:
    """What the service did with one free-text title, as its API reports it.

    ``held``: a change waits in the review queue (``rules`` fired, ``before``/``after`` are
    the managed groups the LMS had when it was planned and would have once approved);
    ``applied``: the AI's role went to the LMS without anyone; ``none``: no AI choice on
    record (title mapping switched off, or the person left).
    """

    external_id: str
    sent: FreeTextTitle
    status: Literal["applied", "held", "none"]
    seen_title: str | None = None  # the scrubbed title the AI was shown
    role_id: str | None = None
    confidence: float | None = None
    rules: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    user_action: str | None = None


@dataclass
class ReviewQueue:
    """The pending reviews as ``GET /reviews`` lists them, and the AI title outcomes."""

    pending: int = 0
    rules: Counter[str] = field(default_factory=Counter)
    titles: dict[str, TitleOutcome] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for o in self.titles.values() if o.status == status)


def _pages(client: httpx.Client, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item of a paged listing (``/reviews`` pages by ``next``, ``/audit`` by
    ``next_after``)."""
    params = dict(params)
    while True:
        response = client.get(path, params=params)
        response.raise_for_status()
        page = response.json()
        yield from page["items"]
        if page.get("next"):
            params["after"] = page["next"]
        elif page.get("next_after") is not None:
            params["after"] = page["next_after"]
        else:
            return


def _held(
    external_id: str, sent: FreeTextTitle, review: dict[str, Any], roles: RoleDirectory
) -> TitleOutcome:
    args = review["request"]["action_request"]["args"]
    # the role the change proposes; the top candidate when it proposes none
    proposed = [g for g in args.get("after", []) if g in roles]
    candidates = [c["role_id"] for c in args.get("candidates", [])]
    return TitleOutcome(
        external_id=external_id,
        sent=sent,
        status="held",
        seen_title=(args.get("view") or {}).get("title"),
        role_id=next(iter(proposed or candidates), None),
        confidence=review.get("confidence"),
        rules=tuple(review["rules"]),
        flags=tuple(review["flags"]),
        before=tuple(args.get("before", [])),
        after=tuple(args.get("after", [])),
        user_action=args.get("user_action"),
    )


def _decided(external_id: str, sent: FreeTextTitle, entry: dict[str, Any]) -> TitleOutcome:
    provenance = entry.get("provenance") or {}
    title = provenance.get("title") or {}
    applied = any(rule.startswith("ai:") for rule in provenance.get("rules_fired", []))
    return TitleOutcome(
        external_id=external_id,
        sent=sent,
        status="applied" if applied and title else "none",
        seen_title=title.get("title"),
        role_id=title.get("role_id"),
        confidence=title.get("confidence"),
        flags=tuple(provenance.get("flags", [])),
    )


def fetch_review_queue(
    free_text: Mapping[str, FreeTextTitle], *, api_url: str, admin_key: str, catalog: Catalog
) -> ReviewQueue:
    """Ask the service, as an operator would: the queue, then each free-text worker's case.

    A worker with a pending review is held (the newest one counts: a later event supersedes
    an older change); otherwise their last ``decision_made`` audit entry says whether the
    AI's role was applied.
    """
    queue = ReviewQueue()
    roles = RoleDirectory(catalog)
    headers = {"authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=api_url, timeout=30, headers=headers) as client:
        for review in _pages(client, "/reviews", {"status": "pending", "limit": 500}):
            queue.pending += 1
            queue.rules.update(review["rules"])
        for external_id, sent in free_text.items():
            waiting = list(
                _pages(
                    client, "/reviews", {"status": "pending", "employee": external_id, "limit": 50}
                )
            )
            if waiting:
                newest = max(waiting, key=lambda r: str(r["occurred_at"]))
                queue.titles[external_id] = _held(external_id, sent, newest, roles)
                continue
            decisions = list(
                _pages(
                    client,
                    "/audit",
                    {"employee": external_id, "action": "decision_made", "limit": 1000},
                )
            )
            queue.titles[external_id] = (
                _decided(external_id, sent, decisions[-1])
                if decisions
                else TitleOutcome(external_id=external_id, sent=sent, status="none")
            )
    return queue


@dataclass
class LMSReport:
    """What the LMS holds for the simulated workforce, and where it disagrees with the HRIS."""

    users: int = 0
    active_users: int = 0
    memberships: int = 0
    matching: int = 0
    held: int = 0  # of the matching: a change waits for review and the LMS is as before it
    mismatches: list[str] = field(default_factory=list)


def compare_with_hris(
    final: dict[str, Employee],
    *,
    lms: ScimLMS,
    catalog: Catalog,
    titles: Mapping[str, TitleOutcome] | None = None,
) -> LMSReport:
    """Read every person back from the LMS: account state and groups must match the rules.

    Where the AI placed a title (``titles``), its role and the curricula the role brings are
    expected too. Where a change waits for review, nothing of it may be in the LMS yet: the
    review checkpoint sits before ``apply``, so the LMS must hold exactly what it held when
    the change was planned (no account at all for a held hire), and the change waiting must
    be the HRIS's groups plus the AI's proposed role, so approving it would make them agree.
    """
    by_scim_id = {g.id: ext for ext, g in lms.groups().items()}
    mapper = RulesMapper(catalog)
    directory = RoleDirectory(catalog)
    titles = titles or {}
    managers = {
        e.manager_external_id
        for e in final.values()
        if e.manager_external_id and e.employment_status != EmploymentStatus.inactive
    }
    report = LMSReport()
    for employee in final.values():
        ext = employee.external_id
        user = lms.find_user(ext)
        active = employee.employment_status != EmploymentStatus.inactive
        expected = set(mapper.map(employee, manages_others=ext in managers).group_ids)
        groups: set[str] = set()
        if user is not None:
            groups = {by_scim_id[g] for g in lms.member_group_ids(user.id) if g in by_scim_id}
            report.users += 1
            report.active_users += user.active
            report.memberships += len(groups)
        outcome = titles.get(ext)
        if outcome is not None and outcome.status == "held":
            problem = _held_problem(outcome, user is not None, groups, expected, directory)
            if problem is None:
                report.held += 1
                report.matching += 1
            else:
                report.mismatches.append(f"{ext}: {problem}")
            continue
        if outcome is not None and outcome.status == "applied":
            if outcome.sent.injection:
                report.mismatches.append(f"{ext}: a prompt-injection title was applied unreviewed")
                continue
            expected |= set(directory.bundles.get(outcome.role_id or "", []))
        if (user is not None and user.active) != active:
            report.mismatches.append(f"{ext}: active in LMS != HRIS ({active})")
        elif groups != expected:
            report.mismatches.append(
                f"{ext}: missing {sorted(expected - groups)}, extra {sorted(groups - expected)}"
            )
        else:
            report.matching += 1
    return report


def _held_problem(
    outcome: TitleOutcome,
    has_account: bool,
    groups: set[str],
    expected: set[str],
    directory: RoleDirectory,
) -> str | None:
    """Why a held person's LMS state is wrong, or None when it is what holding means."""
    if outcome.user_action == "create" and has_account:
        return "held for review, yet the LMS already has an account"
    if outcome.user_action != "create" and not has_account:
        return "held for review, yet the LMS lost the account it had"
    if groups != set(outcome.before):
        return f"held for review, yet the LMS groups {sorted(groups)} != {sorted(outcome.before)}"
    proposed = [g for g in outcome.after if g in directory]
    want = expected | {g for role in proposed for g in directory.bundles[role]}
    if set(outcome.after) != want:
        return (
            f"the change held for review misses {sorted(want - set(outcome.after))}, "
            f"adds {sorted(set(outcome.after) - want)}"
        )
    return None


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
        str(_finished(counts) - statuses[202]),
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
