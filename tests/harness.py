"""Workers against the bundled SCIM sandbox, for integration tests that run events end to end.

Several integration tests need the same rig: the sandbox serving the demo catalog, worker
settings pointing at it, a worker to enqueue events for and drain, and a way to read back
which groups a person ended up in. Each test file extends `WorkerHarness` with what it
checks (vault entries, sandbox faults, ...).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy.engine import Engine

from agents.runtime.worker import Worker
from core import inbox
from core.catalog import Catalog, load_catalog
from core.settings import Settings
from tests.factories import make_worker_settings
from tools.lms.sandbox import SandboxServer
from tools.lms.scim import ScimLMS

SANDBOX_TOKEN = "sandbox-token"


@contextmanager
def sandbox_and_settings(
    *, database_url: str, var_dir: Path, catalog: Catalog | None = None, **overrides: Any
) -> Iterator[tuple[SandboxServer, Settings]]:
    """The SCIM sandbox (serving ``catalog``, the demo catalog by default) and worker
    settings that talk to it with its token."""
    with SandboxServer(catalog or load_catalog(), token=SANDBOX_TOKEN) as sandbox:
        yield (
            sandbox,
            make_worker_settings(
                database_url=database_url,
                var_dir=var_dir,
                lms_url=sandbox.base_url,
                lms_token=SecretStr(SANDBOX_TOKEN),
                **overrides,
            ),
        )


def groups_in_lms(lms: ScimLMS, external_id: str) -> set[str] | None:
    """The catalog ids of the groups a person is in on the LMS; None when they have no
    account."""
    user = lms.find_user(external_id)
    if user is None:
        return None
    by_id = {g.id: ext for ext, g in lms.groups().items()}
    return {by_id[g] for g in lms.member_group_ids(user.id)}


@dataclass
class WorkerHarness:
    engine: Engine
    worker: Worker
    settings: Settings

    def enqueue(self, event: Any) -> str:
        row, _ = inbox.enqueue(self.engine, event=event)
        return row.id

    def drain(self, timeout_s: float = 30) -> None:
        self.worker.drain(timeout_s=timeout_s)
        assert inbox.open_count(self.engine) == 0, inbox.status_counts(self.engine)
