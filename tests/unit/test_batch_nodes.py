"""The batch lane's membership write: all runs' changes together, and when the LMS refuses
that, each run's alone, so that only a run whose own change is refused fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

from agents.provisioning.batch_nodes import _change_memberships
from agents.provisioning.nodes import GroupChange
from agents.provisioning.state import BatchRun, ProvisioningContext
from tools.lms.errors import LMSRejected


@dataclass
class RefusingLMS:
    """Refuses any write that touches ``refused_user`` (an LMS rule we cannot see)."""

    refused_user: str | None = None
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def change_memberships_many(self, changes: list[tuple[str, list[str], list[str]]]) -> None:
        self.calls.append(("many", [user for user, _, _ in changes]))
        if any(user == self.refused_user for user, _, _ in changes):
            raise LMSRejected("LMS refused PATCH /Groups/g1 (in POST /Bulk)", status=400)

    def change_memberships(self, user_id: str, *, add: list[str], remove: list[str]) -> None:
        self.calls.append(("one", user_id))
        if user_id == self.refused_user:
            raise LMSRejected("LMS refused PATCH /Groups/g1", status=400)


def _run(lms: RefusingLMS, n: int) -> tuple[BatchRun, GroupChange]:
    context = SimpleNamespace(
        services=SimpleNamespace(lms=lms), claim=SimpleNamespace(receipt_id=f"rcpt_{n}")
    )
    run = BatchRun(context=cast(ProvisioningContext, context), state={}, run_id="r", subject="s")
    return run, GroupChange(f"u{n}", ["role"], [], ["g1"], [])


def test_all_changes_go_in_one_call_when_the_lms_takes_them() -> None:
    lms = RefusingLMS()
    assert _change_memberships([_run(lms, n) for n in range(3)]) == {}
    assert lms.calls == [("many", ["u0", "u1", "u2"])]


def test_a_refusal_is_narrowed_to_the_run_whose_change_was_refused() -> None:
    lms = RefusingLMS(refused_user="u1")
    refused = _change_memberships([_run(lms, n) for n in range(3)])
    assert list(refused) == ["rcpt_1"] and isinstance(refused["rcpt_1"], LMSRejected)
    assert lms.calls == [("many", ["u0", "u1", "u2"]), ("one", "u0"), ("one", "u1"), ("one", "u2")]


def test_runs_with_nothing_to_change_send_nothing() -> None:
    lms = RefusingLMS()
    run, _ = _run(lms, 0)
    assert _change_memberships([(run, GroupChange("u0", [], [], [], []))]) == {}
    assert lms.calls == []
