"""The batch lane's LMS writes: all runs' users in one call, a run whose own user write was
refused failing alone; and all runs' membership changes together, and when the LMS
refuses that, each run's alone, so that only a run whose own change is refused fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

from agents.provisioning.batch_nodes import _change_memberships, _write_users
from agents.provisioning.nodes import GroupChange
from agents.provisioning.state import BatchRun, ProvisioningContext
from tests.factories import make_employee
from tools.lms.errors import LMSConflict, LMSRejected, LMSUnavailable
from tools.lms.models import LMSAccount, LMSUser, UserWrite
from tools.lms.scim_user_bulk import WrittenUsers


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


@dataclass
class UserLMS:
    """Answers ``write_users_many`` with ``answers`` (or raises ``down``)."""

    answers: list[LMSAccount | LMSConflict | None]
    writes: list[int]
    down: Exception | None = None
    calls: list[list[UserWrite]] = field(default_factory=list)

    def write_users_many(self, writes: list[UserWrite]) -> WrittenUsers:
        self.calls.append(writes)
        if self.down is not None:
            raise self.down
        written = WrittenUsers()
        written.extend(self.answers)
        written.writes.extend(self.writes)
        return written


def _user_run(lms: UserLMS, n: int) -> tuple[BatchRun, UserWrite]:
    run, _ = _run(cast(RefusingLMS, lms), n)
    return run, UserWrite(make_employee(), None, active=True)


ACCOUNT = LMSAccount(LMSUser("u1", "E1", "e1@example.com", active=True), frozenset())


def test_all_users_go_in_one_call_and_a_refused_one_fails_its_run_alone() -> None:
    refused = LMSConflict("LMS refused the user", status=409, scim_type="uniqueness")
    lms = UserLMS(answers=[ACCOUNT, refused, None], writes=[2, 0, 0])
    wanted = [_user_run(lms, n) for n in range(3)]

    written, failed = _write_users(wanted)

    assert lms.calls == [[write for _, write in wanted]]
    assert [(run.context.claim.receipt_id, a, w) for run, a, w in written] == [
        ("rcpt_0", ACCOUNT, 2),
        ("rcpt_2", None, 0),
    ]
    assert [(run.context.claim.receipt_id, e) for run, e in failed] == [("rcpt_1", refused)]


def test_an_lms_that_cannot_be_reached_fails_every_run() -> None:
    down = LMSUnavailable("LMS failed POST /Bulk", status=503)
    lms = UserLMS(answers=[], writes=[], down=down)
    wanted = [_user_run(lms, n) for n in range(2)]

    written, failed = _write_users(wanted)

    assert written == []
    assert [(run.context.claim.receipt_id, e) for run, e in failed] == [
        ("rcpt_0", down),
        ("rcpt_1", down),
    ]
    assert _write_users([]) == ([], [])
