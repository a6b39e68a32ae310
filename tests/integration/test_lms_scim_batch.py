"""The SCIM connector's batch calls (``read_accounts``, ``write_users_many``,
``change_memberships_many``) over HTTP against the bundled sandbox, which fills
``User.groups`` and has a fast lane for the batch's lookup, and against a stock
scim2-server, which fills no ``User.groups`` (groups are read from the groups' side) and
whose limits a test can set (both answer ``POST /Bulk``)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import pytest
from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.testserver.application import BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

import tools.lms.scim
from core.catalog import Catalog
from core.employee import Employee
from tests.factories import make_employee
from tools.lms.errors import LMSConflict, LMSError, LMSUnavailable
from tools.lms.models import LMSAccount, UserWrite
from tools.lms.sandbox import SandboxServer
from tools.lms.sandbox_http import KeepAliveWSGIServer, make_keep_alive_server
from tools.lms.scim import ScimLMS
from tools.lms.scim_bulk import bulk_body
from tools.lms.scim_mapping import user_requests
from tools.lms.scim_or import MAX_TERMS

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from tests.integration.conftest import SandboxControl

    MakeLMS = Callable[..., ScimLMS]


class StockScim:
    """scim2-server's own application (stock storage, no ``User.groups``) on an ephemeral
    port; it logs each request as ``(method, path, filter)`` and can refuse ``or`` filters
    on /Groups with 501, as an LMS without them on members would."""

    def __init__(
        self,
        *,
        max_results: int | None = None,
        max_operations: int | None = None,
        max_payload_size: int | None = None,
        refuse_or_on_groups: bool = False,
    ) -> None:
        config = load_default_service_provider_config()
        assert config.filter is not None and config.bulk is not None
        if max_results is not None:
            config.filter.max_results = max_results
        if max_operations is not None:
            config.bulk.max_operations = max_operations
        if max_payload_size is not None:
            config.bulk.max_payload_size = max_payload_size
        provider = ScimProvider.from_discovery(
            load_default_schemas().values(), load_default_resource_types().values(), config=config
        )
        self.scim_app: WSGIApplication = BearerTokenApplication(InMemoryStorage(), provider)
        self.refuse_or_on_groups = refuse_or_on_groups
        self.log: list[tuple[str, str, str | None]] = []
        self._lock = threading.Lock()
        self._server: KeepAliveWSGIServer | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        scim_filter = parse_qs(environ.get("QUERY_STRING", "")).get("filter", [None])[0]
        with self._lock:
            self.log.append((method, path, scim_filter))
        if self.refuse_or_on_groups and path == "/v2/Groups" and " or " in (scim_filter or ""):
            body = b'{"status": "501", "detail": "or is not implemented"}'
            start_response("501 Not Implemented", [("Content-Type", "application/scim+json")])
            return [body]
        return self.scim_app(environ, start_response)

    def requests(self, method: str, path: str) -> list[str | None]:
        """The filters of the requests sent to ``method path`` since the last ``clear``."""
        with self._lock:
            return [f for m, p, f in self.log if (m, p) == (method, "/v2" + path)]

    def clear(self) -> None:
        with self._lock:
            self.log.clear()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}/v2"

    def __enter__(self) -> StockScim:
        self._server = make_keep_alive_server("127.0.0.1", 0, self)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def start_stock() -> Iterator[Callable[..., StockScim]]:
    with ExitStack() as stack:
        yield lambda **options: stack.enter_context(StockScim(**options))


def hire(lms: ScimLMS, count: int, *, first_in: str | None = None) -> list[str]:
    """``count`` new LMS users; returns their external ids. The first is put in the group
    ``first_in`` (an LMS id), so a client reading it learns that the LMS fills
    ``User.groups`` (the sandbox answers a user in no group without them)."""
    ids = [f"E-B{n:03d}" for n in range(count)]
    for external_id in ids:
        user = lms.create_user(
            make_employee(external_id=external_id, email=f"{external_id}@example.com")
        )
        if first_in is not None and external_id == ids[0]:
            lms.add_member(first_in, user.id)
    return ids


def one_by_one(lms: ScimLMS, external_ids: Iterable[str]) -> dict[str, LMSAccount]:
    accounts = {e: lms.read_account(e) for e in external_ids}
    return {e: a for e, a in accounts.items() if a is not None}


def gets(control: SandboxControl) -> int:
    return int(control.requests()["requests"].get("GET", 0))


# --- read_accounts against the sandbox ------------------------------------------------------


def test_many_accounts_are_read_in_one_request_and_missing_ones_left_out(
    lms: ScimLMS, control: SandboxControl
) -> None:
    groups = lms.groups()
    eng, berlin = groups["dept-eng"].id, groups["loc-berlin"].id
    ids = hire(lms, 5)
    users = lms.read_accounts(ids)
    lms.change_memberships_many(
        [(users[ids[0]].user.id, [eng, berlin], []), (users[ids[3]].user.id, [berlin], [])]
    )
    asked = [ids[3], "E-missing", ids[0], ids[1], ids[2], ids[4], "E-gone", ids[0]]
    before = gets(control)

    accounts = lms.read_accounts(asked)

    assert gets(control) - before == 1
    assert list(accounts) == [ids[3], ids[0], ids[1], ids[2], ids[4]]
    assert accounts == one_by_one(lms, asked)
    assert accounts[ids[0]].group_ids == {eng, berlin}
    assert accounts[ids[3]].group_ids == {berlin}
    assert accounts[ids[1]].group_ids == frozenset()
    assert sandbox_fast_answered(control) >= 2
    assert lms.read_accounts([]) == {}
    assert lms.read_accounts(["E-missing", "E-gone"]) == {}


def sandbox_fast_answered(control: SandboxControl) -> int:
    fast = control.server.app.fast_lane
    assert fast is not None
    return fast.answered["GET /Users"]


def test_a_shared_external_id_fails_the_batch_naming_it(lms: ScimLMS) -> None:
    ids = hire(lms, 2)
    for email in ("one@example.com", "two@example.com"):
        lms.create_account(make_employee(external_id="E-twice", email=email))

    with pytest.raises(LMSError, match="several LMS users share externalId 'E-twice'"):
        lms.read_accounts([ids[0], "E-twice", ids[1]])
    with pytest.raises(LMSError, match="'E-twice'"):
        lms.read_account("E-twice")


def test_ids_with_quotes_and_backslashes_are_escaped(lms: ScimLMS) -> None:
    tricky = make_employee(external_id='E"1\\ or userName pr')
    created = lms.create_account(tricky)
    lms.create_account(make_employee(external_id="E1"))
    lms.create_account(make_employee(external_id='E"1'))

    accounts = lms.read_accounts([tricky.external_id, "E1", "E-none"])

    assert set(accounts) == {tricky.external_id, "E1"}
    assert accounts[tricky.external_id] == created
    assert accounts == one_by_one(lms, [tricky.external_id, "E1"])


def test_more_ids_than_one_search_holds_are_read_in_chunks(
    lms: ScimLMS, control: SandboxControl
) -> None:
    ids = hire(lms, 12, first_in=lms.groups()["all-staff"].id)
    asked = [*ids, *(f"E-none{n:03d}" for n in range(2 * MAX_TERMS - 12 + 1))]
    before = gets(control)

    accounts = lms.read_accounts(asked)

    assert set(accounts) == set(ids)
    assert gets(control) - before == 1 + 3  # ServiceProviderConfig, then 50 + 50 + 1 ids


def test_an_lms_without_or_is_read_one_id_at_a_time_from_then_on(
    catalog: Catalog, make_lms: MakeLMS, caplog: pytest.LogCaptureFixture
) -> None:
    with SandboxServer(catalog, or_filters=False) as sandbox:
        lms = make_lms(sandbox.base_url)
        ids = hire(lms, 3, first_in=lms.groups()["all-staff"].id)
        app = sandbox.app
        app.requests.clear()

        with caplog.at_level(logging.INFO, logger="tools.lms.scim"):
            first = lms.read_accounts([*ids, "E-missing"])
            second = lms.read_accounts(ids[:2])

        assert set(first) == set(ids)
        assert set(second) == set(ids[:2])
        assert first == one_by_one(lms, ids)
        # config, the refused or, 4 lookups; 2 lookups; the 3 of one_by_one
        assert app.requests.snapshot()["requests"] == {"GET": 1 + 1 + 4 + 2 + 3}
        refusals = [r for r in caplog.records if "refused an or" in r.getMessage()]
        assert len(refusals) == 1
        assert "invalidFilter" in refusals[0].getMessage()


# --- read_accounts against a stock scim2-server ---------------------------------------------


def test_groups_are_read_from_the_groups_side_in_one_search(
    start_stock: Callable[..., StockScim], make_lms: MakeLMS, catalog: Catalog
) -> None:
    stock = start_stock()
    lms = make_lms(stock.base_url)
    groups = lms.ensure_groups(catalog)
    eng, berlin, staff = (groups[g].id for g in ("dept-eng", "loc-berlin", "all-staff"))
    ids = hire(lms, 4)
    users = {e: a.user.id for e, a in lms.read_accounts(ids).items()}
    lms.change_memberships_many(
        [(users[ids[0]], [eng, staff], []), (users[ids[1]], [berlin, staff], [])]
    )
    stock.clear()

    accounts = lms.read_accounts([*ids, "E-missing"])

    assert stock.requests("GET", "/Users") == [
        " or ".join(f'externalId eq "{e}"' for e in [*ids, "E-missing"])
    ]
    (group_search,) = stock.requests("GET", "/Groups")
    assert group_search is not None and group_search.count(" or members.value eq ") == 3
    assert accounts[ids[0]].group_ids == {eng, staff}
    assert accounts[ids[1]].group_ids == {berlin, staff}
    assert accounts[ids[2]].group_ids == accounts[ids[3]].group_ids == frozenset()
    stock.clear()
    assert accounts == one_by_one(lms, ids)
    assert len(stock.requests("GET", "/Groups")) == 4  # one group search per read_account


def test_chunks_follow_the_servers_max_results(
    start_stock: Callable[..., StockScim], make_lms: MakeLMS, catalog: Catalog
) -> None:
    stock = start_stock(max_results=3)
    lms = make_lms(stock.base_url)
    eng = lms.ensure_groups(catalog)["dept-eng"].id
    ids = hire(lms, 7)
    for user_id in (a.user.id for a in one_by_one(lms, ids).values()):
        lms.add_member(eng, user_id)
    stock.clear()

    accounts = lms.read_accounts(ids)

    sizes = [(f or "").count(" or ") + 1 for f in stock.requests("GET", "/Users")]
    assert sizes == [3, 3, 1]
    sizes = [(f or "").count(" or ") + 1 for f in stock.requests("GET", "/Groups")]
    assert sizes == [3, 3, 1]
    assert all(a.group_ids == {eng} for a in accounts.values())
    assert len(accounts) == 7


def test_group_side_reads_fall_back_to_one_search_per_user(
    start_stock: Callable[..., StockScim],
    make_lms: MakeLMS,
    catalog: Catalog,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stock = start_stock(refuse_or_on_groups=True)
    lms = make_lms(stock.base_url)
    eng = lms.ensure_groups(catalog)["dept-eng"].id
    ids = hire(lms, 3)
    first = one_by_one(lms, ids)
    lms.add_member(eng, first[ids[1]].user.id)
    stock.clear()

    with caplog.at_level(logging.INFO, logger="tools.lms.scim"):
        accounts = lms.read_accounts(ids)
        again = lms.read_accounts(ids)

    assert accounts == again
    assert accounts[ids[1]].group_ids == {eng}
    assert accounts[ids[0]].group_ids == frozenset()
    group_searches = stock.requests("GET", "/Groups")
    assert [" or " in (f or "") for f in group_searches] == [True, *[False] * 6]
    assert sum("refused an or" in r.getMessage() for r in caplog.records) == 1


def test_big_groups_make_group_side_reads_per_user(
    start_stock: Callable[..., StockScim],
    make_lms: MakeLMS,
    catalog: Catalog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tools.lms.scim, "GROUP_SIDE_MEMBERS_MAX", 3)
    stock = start_stock()
    lms = make_lms(stock.base_url)
    staff = lms.ensure_groups(catalog)["all-staff"].id
    ids = hire(lms, 4)
    lms.change_memberships_many([(a.user.id, [staff], []) for a in one_by_one(lms, ids).values()])
    stock.clear()

    accounts = lms.read_accounts(ids)  # the answer holds 4 members: too many from now on
    again = lms.read_accounts(ids)

    assert accounts == again
    assert all(a.group_ids == {staff} for a in accounts.values())
    assert [" or " in (f or "") for f in stock.requests("GET", "/Groups")] == [True, *[False] * 4]


# --- change_memberships_many ----------------------------------------------------------------


def test_many_users_changes_go_as_one_bulk(lms: ScimLMS, control: SandboxControl) -> None:
    groups = lms.groups()
    eng, berlin, staff = (groups[g].id for g in ("dept-eng", "loc-berlin", "all-staff"))
    ids = hire(lms, 3)
    users = [a.user.id for a in one_by_one(lms, ids).values()]
    lms.add_member(staff, users[2])
    writes_before, thread_before = lms.writes, lms.thread_writes
    control.server.app.requests.clear()

    lms.change_memberships_many(
        [
            (users[0], [eng, berlin], []),
            (users[1], [staff], [berlin]),  # not in berlin: nothing to remove
            (users[2], [], [staff]),
            (users[1], [], []),
        ]
    )

    seen = control.requests()
    assert seen["writes"] == {"POST /Bulk": 1}
    assert seen["bulk_operations"] == {"PATCH /Groups/{id}": 5}
    assert lms.writes - writes_before == 5
    assert lms.thread_writes - thread_before == 5
    accounts = lms.read_accounts(ids)
    assert [accounts[e].group_ids for e in ids] == [{eng, berlin}, {staff}, frozenset()]
    lms.change_memberships_many([])
    assert control.requests()["writes"] == {"POST /Bulk": 1}


def test_bulks_hold_at_most_max_operations(
    start_stock: Callable[..., StockScim], make_lms: MakeLMS, catalog: Catalog
) -> None:
    stock = start_stock(max_operations=4)
    lms = make_lms(stock.base_url)
    groups = lms.ensure_groups(catalog)
    ids = hire(lms, 3)
    users = [a.user.id for a in one_by_one(lms, ids).values()]
    every = [g.id for g in groups.values()]  # 5 groups
    stock.clear()
    writes_before = lms.writes

    lms.change_memberships_many([(u, every[:3], []) for u in users])  # 9 operations

    assert len(stock.requests("POST", "/Bulk")) == 3  # 4 + 4 + 1
    assert stock.requests("PATCH", "/Groups/" + every[0]) == []
    assert lms.writes - writes_before == 9
    accounts = lms.read_accounts(ids)
    assert all(a.group_ids == set(every[:3]) for a in accounts.values())


def test_without_bulk_each_change_is_one_patch(
    sandbox: SandboxServer, control: SandboxControl, make_lms: MakeLMS
) -> None:
    lms = make_lms(sandbox.base_url, bulk=False)
    groups = lms.groups()
    eng, berlin = groups["dept-eng"].id, groups["loc-berlin"].id
    ids = hire(lms, 2)
    users = [a.user.id for a in one_by_one(lms, ids).values()]
    control.server.app.requests.clear()

    lms.change_memberships_many([(users[0], [eng, berlin], []), (users[1], [eng], [berlin])])

    assert control.requests()["writes"] == {"PATCH /Groups/{id}": 4}
    assert lms.writes == 2 + 4
    accounts = lms.read_accounts(ids)
    assert [accounts[e].group_ids for e in ids] == [{eng, berlin}, {eng}]


def test_change_memberships_is_the_many_of_one(lms: ScimLMS, control: SandboxControl) -> None:
    groups = lms.groups()
    user = lms.create_user(make_employee())
    lms.change_memberships(user.id, add=[groups["dept-eng"].id], remove=[])
    lms.change_memberships(user.id, add=[groups["loc-berlin"].id], remove=[groups["dept-eng"].id])

    seen = control.requests()
    assert seen["writes"] == {"POST /Users": 1, "PATCH /Groups/{id}": 1, "POST /Bulk": 1}
    assert lms.member_group_ids(user.id) == {groups["loc-berlin"].id}


# --- write_users_many -----------------------------------------------------------------------


def people(lms: ScimLMS, count: int) -> list[tuple[Employee, LMSAccount]]:
    """``count`` people the LMS holds, each with its account as read."""
    held = [make_employee() for _ in range(count)]
    for employee in held:
        lms.create_account(employee)
    accounts = lms.read_accounts([e.external_id for e in held])
    return [(e, accounts[e.external_id]) for e in held]


def mixed_writes(lms: ScimLMS) -> list[UserWrite]:
    """A batch of every kind: a promotion, a deactivation, one unchanged, a hire, a hire
    whose userName someone else holds, a hire already made (a retry after a lost answer),
    and a leaver the LMS never held."""
    (promoted, a), (leaver, b), (same, c), (retried, _) = people(lms, 4)
    taken = make_employee()
    lms.create_account(make_employee(email=taken.email))
    return [
        UserWrite(promoted.model_copy(update={"title": "Staff Engineer"}), a, active=True),
        UserWrite(leaver, b, active=False),
        UserWrite(same, c, active=True),
        UserWrite(make_employee(), None, active=True),
        UserWrite(taken, None, active=True),
        UserWrite(retried, None, active=True),
        UserWrite(make_employee(), None, active=False),
    ]


def check_mixed(lms: ScimLMS, writes: list[UserWrite], results: Sequence[object]) -> None:
    """Each write ended as ``write_user`` makes it end, and the LMS holds what it should."""
    promoted, leaver, same, hire, taken, retried, never = writes
    assert [type(r).__name__ for r in results] == [
        "LMSAccount",
        "LMSAccount",
        "LMSAccount",
        "LMSAccount",
        "LMSConflict",
        "LMSAccount",
        "NoneType",
    ]
    now = lms.read_accounts([w.employee.external_id for w in writes])
    assert results[:3] == [promoted.account, leaver.account, same.account]  # as read
    assert now[promoted.employee.external_id].user.title == "Staff Engineer"
    assert now[leaver.employee.external_id].user.active is False
    assert now[same.employee.external_id] == same.account
    assert results[3] == now[hire.employee.external_id]  # as the LMS holds it
    assert results[5] == now[retried.employee.external_id]
    assert taken.employee.external_id not in now and never.employee.external_id not in now
    conflict = results[4]
    assert isinstance(conflict, LMSConflict)
    assert (conflict.status, conflict.scim_type) == (409, "uniqueness")
    with pytest.raises(LMSConflict) as single:
        lms.write_user(taken)
    assert str(conflict).replace(" (in POST /Bulk)", "") == str(single.value)


def accepted(control: SandboxControl) -> tuple[dict[str, int], dict[str, int]]:
    seen = control.requests()
    return seen["writes"], seen["bulk_operations"]


def test_a_batch_of_user_writes_goes_as_one_bulk_and_a_refusal_fails_its_write_alone(
    lms: ScimLMS, control: SandboxControl
) -> None:
    writes = mixed_writes(lms)
    writes_before, thread_before = lms.writes, lms.thread_writes
    control.server.app.requests.clear()

    results = lms.write_users_many(writes)

    assert accepted(control) == (
        {"POST /Bulk": 1},
        {"PATCH /Users/{id}": 2, "POST /Users": 1},
    )
    (bulk,) = control.requests()["write_log"]
    assert [(op["method"], op["status"]) for op in bulk["operations"]] == [
        ("PATCH", 200),
        ("PATCH", 200),
        ("POST", 201),
        ("POST", 409),
        ("POST", 409),
    ]
    assert results.writes == [1, 1, 0, 1, 0, 0, 0]
    assert lms.writes - writes_before == 3
    assert lms.thread_writes - thread_before == 3
    check_mixed(lms, writes, results)


def test_without_bulk_each_write_is_made_by_its_own_requests(
    sandbox: SandboxServer, control: SandboxControl, make_lms: MakeLMS
) -> None:
    lms = make_lms(sandbox.base_url, bulk=False)
    writes = mixed_writes(lms)
    writes_before = lms.writes
    control.server.app.requests.clear()

    results = lms.write_users_many(writes)

    assert accepted(control) == ({"PATCH /Users/{id}": 2, "POST /Users": 1}, {})
    assert results.writes == [1, 1, 0, 1, 0, 0, 0]
    assert lms.writes - writes_before == 3
    check_mixed(lms, writes, results)


def test_nothing_is_sent_when_nothing_differs(lms: ScimLMS, control: SandboxControl) -> None:
    held = people(lms, 3)
    control.server.app.requests.clear()
    writes = [UserWrite(e, a, active=True) for e, a in held]
    writes.append(UserWrite(make_employee(), None, active=False))

    results = lms.write_users_many(writes)

    assert results == [a for _, a in held] + [None]
    assert results.writes == [0, 0, 0, 0]
    assert control.requests()["requests"] == {}
    assert lms.write_users_many([]) == []


def test_a_write_that_needs_one_request_sends_it_alone(
    lms: ScimLMS, control: SandboxControl
) -> None:
    ((employee, account),) = people(lms, 1)
    hire = make_employee()
    control.server.app.requests.clear()

    results = lms.write_users_many(
        [UserWrite(employee, account, active=True), UserWrite(hire, None, active=True)]
    )

    assert accepted(control) == ({"POST /Users": 1}, {})
    assert results[1] == lms.read_account(hire.external_id)


def test_a_bulk_the_lms_fails_as_a_whole_raises_and_a_blip_is_retried(
    lms: ScimLMS, control: SandboxControl
) -> None:
    hires = [UserWrite(make_employee(), None, active=True) for _ in range(3)]
    before = control.user_count()
    control.fault(503, count=10, templates=["/Bulk"])

    with pytest.raises(LMSUnavailable):
        lms.write_users_many(hires)

    assert control.user_count() == before
    control.server.app.faults.clear()
    control.fault(503, count=1, templates=["/Bulk"])
    results = lms.write_users_many(hires)
    assert all(isinstance(r, LMSAccount) for r in results)
    assert control.user_count() == before + 3


def test_user_bulks_follow_a_stock_servers_limits(
    start_stock: Callable[..., StockScim], make_lms: MakeLMS
) -> None:
    stock = start_stock(max_operations=3)
    lms = make_lms(stock.base_url)
    held = people(lms, 2)
    taken = make_employee(email=held[0][0].email)
    writes = [
        *(UserWrite(e.model_copy(update={"title": "Boss"}), a, active=False) for e, a in held),
        UserWrite(taken, None, active=True),
        *(UserWrite(make_employee(), None, active=True) for _ in range(2)),
    ]  # 2 + 2 patches, 3 creates
    stock.clear()

    results = lms.write_users_many(writes)

    assert len(stock.requests("POST", "/Bulk")) == 3  # 3 + 3 + 1
    assert stock.requests("POST", "/Users") == []
    assert results.writes == [2, 2, 0, 1, 1]
    assert isinstance(results[2], LMSConflict) and results[2].scim_type == "uniqueness"
    now = lms.read_accounts([w.employee.external_id for w in writes])
    assert [now[e.external_id].user.active for e, _ in held] == [False, False]
    assert results[3:] == [now[w.employee.external_id] for w in writes[3:]]

    hires = [UserWrite(make_employee(), None, active=True) for _ in range(5)]
    (create,) = user_requests(hires[0]) or []
    one = len(json.dumps(bulk_body([create.bulk_operation("user-0")])))
    small = start_stock(max_payload_size=2 * one + 10)  # two creates a bulk
    lms = make_lms(small.base_url)
    results = lms.write_users_many(hires)
    assert len(small.requests("POST", "/Bulk")) == 3  # 2 + 2 + 1
    assert all(isinstance(r, LMSAccount) for r in results)
