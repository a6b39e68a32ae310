"""The whole pipeline: HRIS events in, LMS state out, compared per employee.

Runs in-process: a temporary SQLite database, the bundled SCIM sandbox
(`tools.lms.sandbox.SandboxServer`) and real workers from
`agents.runtime.workers.open_workers` with a
policy that sends nothing to review (the checkpoint is measured elsewhere; here a parked
event would only look like a wrong account).

Dataset (JSONL), one object per line, in order:

- ``{"kind": "event", "event": {...}}``: an `HRISEvent` as JSON, enqueued in file order;
- ``{"kind": "expect", "external_id": "...", "active": true, "groups": ["dept-eng", ...]}``:
  the expected LMS account after every event is processed (``groups``: every group the
  catalog manages that the user should be in; ``"exists": false`` for no account).

Title mapping is off: with it, role groups would depend on the ranker, which the titles suite
measures; this suite is about provisioning. (Switching it on per run is not wired up yet.)
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.metrics import safe_ratio
from evals.suites.base import Progress, Record, RunOptions, SuiteResult, finite
from evals.suites.headlines import Headline, mean_of, ratio_of

log = logging.getLogger(__name__)

NO_REVIEW_POLICY = (
    Path(__file__).resolve().parents[1] / "datasets" / "e2e" / "no_review_policy.yaml"
)


def load_stream(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(events, expectations), in file order."""
    events, expectations = [], []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            item = json.loads(line)
            if item.get("kind") == "event":
                events.append(item["event"])
            elif item.get("kind") == "expect":
                expectations.append(item)
            else:
                raise ValueError(f"{path}:{number}: kind must be 'event' or 'expect'")
    return events, expectations


class E2ESuite:
    name = "e2e"
    headlines: tuple[Headline, ...] = (
        mean_of("exact_match", "exact"),
        ratio_of("group_precision", "group_tp", "group_predicted"),
        ratio_of("group_recall", "group_tp", "group_expected"),
    )

    def run(self, options: RunOptions, progress: Progress) -> SuiteResult:
        from agents.runtime.workers import open_workers
        from core import inbox
        from core.catalog import load_catalog
        from core.db import make_engine
        from core.employee import HRISEvent
        from core.schema import create_tables
        from core.settings import Settings
        from tools.lms.sandbox import SandboxServer
        from tools.lms.scim import ScimLMS

        events, expectations = load_stream(options.dataset)
        if options.limit:
            expectations = expectations[: options.limit]
        catalog = load_catalog(options.catalog)
        managed = {g.id for g in catalog.groups}
        began = time.perf_counter()
        with (
            tempfile.TemporaryDirectory(prefix="talentsync-e2e-") as tmp,
            SandboxServer(catalog) as sandbox,
        ):
            database_url = f"sqlite:///{Path(tmp) / 'e2e.db'}"
            engine = make_engine(database_url)
            create_tables(engine)
            settings = Settings(
                var_dir=Path(tmp),
                database_url=database_url,
                lms_url=sandbox.base_url,
                catalog_path=options.catalog,
                review_policy_path=NO_REVIEW_POLICY,
                title_mapper="off",
                lms_max_retries=2,
                lms_max_retry_after_s=1,
                worker_backoff_base_s=0.01,
                worker_backoff_max_s=0.05,
            )
            for raw in events:
                inbox.enqueue(engine, event=HRISEvent.model_validate(raw))
            with open_workers(settings, engine, count=1) as (worker,):
                worker.drain(timeout_s=120)
            counts = inbox.status_counts(engine)
            lms = ScimLMS.from_settings(settings)
            by_id = {g.id: ext for ext, g in lms.groups().items()}
            records: list[Record] = []
            for expected in expectations:
                records.append(_compare(expected, lms, by_id, managed))
                progress(len(records), len(expectations))
            engine.dispose()
        n = len(records)
        tp = sum(r["group_tp"] for r in records)
        return SuiteResult(
            records=records,
            metrics={
                "exact_match": finite(safe_ratio(sum(r["exact"] for r in records), n)),
                "group_precision": finite(
                    safe_ratio(tp, sum(r["group_predicted"] for r in records))
                ),
                "group_recall": finite(safe_ratio(tp, sum(r["group_expected"] for r in records))),
                "duration_s": time.perf_counter() - began,
                "model_calls": 0.0,
                "cost_usd": 0.0,
            },
            counts={
                "employees": n,
                "events": len(events),
                **{f"inbox_{k}": v for k, v in counts.items()},
            },
        )


def _compare(
    expected: dict[str, Any], lms: Any, by_id: dict[str, str], managed: set[str]
) -> Record:
    external_id = str(expected["external_id"])
    user = lms.find_user(external_id)
    want_exists = bool(expected.get("exists", True))
    want_active = bool(expected.get("active", True))
    want = set(expected.get("groups", [])) & managed
    got: set[str] = set()
    if user is not None:
        got = {by_id[g] for g in lms.member_group_ids(user.id) if by_id.get(g) in managed}
    account_ok = (user is not None) == want_exists and (
        user is None or bool(user.active) == want_active
    )
    return {
        "id": external_id,
        "exists": user is not None,
        "active": bool(user.active) if user is not None else None,
        "expected_groups": sorted(want),
        "groups": sorted(got),
        "exact": int(account_ok and got == want),
        "group_tp": len(got & want),
        "group_predicted": len(got),
        "group_expected": len(want),
    }
