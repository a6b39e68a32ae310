"""The SCIM connector against a real SCIM server (the bundled sandbox) over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import httpx
import pytest
from scim2_server.testserver.application import BearerTokenApplication

from core.catalog import Catalog, CatalogGroup, GroupKind
from core.employee import EmploymentStatus, WorkerType
from core.settings import Settings
from tests.factories import make_employee
from tools.lms.auth import BearerToken, ClientCredentials
from tools.lms.errors import LMSConflict, LMSRejected, LMSUnavailable
from tools.lms.sandbox import SandboxServer
from tools.lms.scim import ScimLMS

if TYPE_CHECKING:
    from tests.integration.conftest import SandboxControl, TokenEndpoint

    MakeLMS = Callable[..., ScimLMS]

# --- users -------------------------------------------------------------------------------------


def test_create_find_update_deactivate(lms: ScimLMS, control: SandboxControl) -> None:
    employee = make_employee(preferred_name="Pri", worker_type=WorkerType.contractor)

    created = lms.create_user(employee)

    assert created.external_id == employee.external_id
    assert created.user_name == employee.email
    assert created.email == employee.email
    assert created.display_name == "Pri " + employee.family_name
    assert created.nick_name == "Pri"
    assert created.user_type == "contractor"
    assert created.employee_number == employee.external_id
    assert created.department == "Engineering"
    assert created.active is True
    assert lms.find_user(employee.external_id) == created
    assert lms.find_user("E-nobody") is None

    promoted = employee.model_copy(
        update={"title": "Engineering Manager", "preferred_name": None, "department": "Platform"}
    )
    assert lms.update_user(created, promoted) is True
    updated = lms.find_user(employee.external_id)
    assert updated is not None
    assert (updated.title, updated.nick_name, updated.department) == (
        "Engineering Manager",
        None,
        "Platform",
    )
    assert updated.display_name == f"{employee.given_name} {employee.family_name}"

    assert lms.set_active(updated, False) is True
    deactivated = lms.find_user(employee.external_id)
    assert deactivated is not None
    assert deactivated.active is False

    assert control.requests()["writes"] == {"POST /Users": 1, "PATCH /Users/{id}": 2}
    assert lms.writes == 3


def test_inactive_employee_is_created_inactive(lms: ScimLMS) -> None:
    employee = make_employee(employment_status=EmploymentStatus.inactive)
    assert lms.create_user(employee).active is False


def test_create_is_idempotent(lms: ScimLMS, control: SandboxControl) -> None:
    employee = make_employee()

    first = lms.create_user(employee)
    second = lms.create_user(employee)

    assert second == first
    assert control.user_count() == 1
    seen = control.requests()
    assert seen["writes"] == {"POST /Users": 1}
    assert [w["status"] for w in seen["write_log"]] == [201, 409]
    assert lms.writes == 1


def test_userName_held_by_another_person_is_a_conflict(lms: ScimLMS) -> None:
    lms.create_user(make_employee(email="shared@example.com"))

    with pytest.raises(LMSConflict, match="different externalId") as caught:
        lms.create_user(make_employee(email="shared@example.com"))

    assert caught.value.status == 409
    assert caught.value.scim_type == "uniqueness"
    assert isinstance(caught.value, LMSRejected)


def test_update_writes_only_when_something_differs(lms: ScimLMS, control: SandboxControl) -> None:
    employee = make_employee()
    user = lms.create_user(employee)

    assert lms.update_user(user, employee) is False
    assert lms.set_active(user, True) is False
    assert control.requests()["writes"] == {"POST /Users": 1}

    moved = employee.model_copy(update={"location": "Lisbon"})  # not an LMS attribute
    assert lms.update_user(user, moved) is False

    renamed = employee.model_copy(update={"family_name": "Okafor"})
    assert lms.update_user(user, renamed) is True
    assert control.requests()["writes"] == {"POST /Users": 1, "PATCH /Users/{id}": 1}


def test_update_ignores_case_of_user_name(lms: ScimLMS) -> None:
    employee = make_employee(email="Mixed.Case@example.com")
    user = lms.create_user(employee)
    lowered = employee.model_copy(update={"email": "mixed.case@example.com"})

    assert lms.update_user(user, lowered) is False


def test_external_id_with_quotes_is_escaped_in_filters(lms: ScimLMS) -> None:
    tricky = make_employee(external_id='E"1\\ or userName pr')
    plain = make_employee(external_id="E1")
    lms.create_user(plain)
    created = lms.create_user(tricky)

    assert lms.find_user(tricky.external_id) == created
    assert lms.find_user('E"1') is None


def test_unknown_user_is_rejected_with_scim_detail(lms: ScimLMS) -> None:
    employee = make_employee()
    user = lms.create_user(employee)
    ghost = type(user)(**{**user.__dict__, "id": "does-not-exist"})

    with pytest.raises(LMSRejected) as caught:
        lms.set_active(ghost, False)

    assert caught.value.status == 404
    assert "does-not-exist" in str(caught.value)


# --- groups ------------------------------------------------------------------------------------


def test_groups_are_preloaded_from_the_catalog(lms: ScimLMS, catalog: Catalog) -> None:
    groups = lms.groups()

    assert set(groups) == {g.id for g in catalog.groups}
    assert groups["dept-eng"].display_name == "Engineering"


def test_groups_walks_every_page(
    sandbox: SandboxServer, control: SandboxControl, make_lms: MakeLMS
) -> None:
    groups = make_lms(sandbox.base_url, page_size=2).groups()

    assert len(groups) == 5
    assert control.requests()["requests"] == {"GET": 3}


def test_ensure_groups_creates_missing_and_is_idempotent(
    lms: ScimLMS, control: SandboxControl, catalog: Catalog
) -> None:
    grown = catalog.model_copy(
        update={
            "groups": [
                *catalog.groups,
                CatalogGroup(id="role-sre", display_name="Site reliability", kind=GroupKind.role),
            ]
        }
    )

    first = lms.ensure_groups(grown)
    second = lms.ensure_groups(grown)

    assert first == second
    assert set(first) == {g.id for g in grown.groups}
    assert control.requests()["writes"] == {"POST /Groups": 1}


def test_ensure_groups_follows_catalog_renames(lms: ScimLMS, control: SandboxControl) -> None:
    renamed = Catalog(
        version="t2",
        groups=[CatalogGroup(id="dept-eng", display_name="Engineering & IT", kind="department")],
    )

    groups = lms.ensure_groups(renamed)

    assert groups["dept-eng"].display_name == "Engineering & IT"
    assert lms.groups()["dept-eng"].display_name == "Engineering & IT"
    assert control.requests()["writes"] == {"PATCH /Groups/{id}": 1}


def test_membership_add_and_remove(lms: ScimLMS, control: SandboxControl) -> None:
    user = lms.create_user(make_employee())
    other = lms.create_user(make_employee())
    groups = lms.groups()
    eng, berlin = groups["dept-eng"].id, groups["loc-berlin"].id

    assert lms.member_group_ids(user.id) == set()
    lms.add_member(eng, user.id)
    lms.add_member(berlin, user.id)
    lms.add_member(eng, other.id)
    assert lms.member_group_ids(user.id) == {eng, berlin}

    lms.remove_member(eng, user.id)
    assert lms.member_group_ids(user.id) == {berlin}
    assert lms.member_group_ids(other.id) == {eng}

    lms.remove_member(eng, user.id)  # already gone: still fine
    assert lms.member_group_ids(user.id) == {berlin}
    assert control.requests()["writes"]["PATCH /Groups/{id}"] == 5


# --- authentication ----------------------------------------------------------------------------


def test_bearer_token_is_required(
    start_sandbox: Callable[..., SandboxServer], make_lms: MakeLMS
) -> None:
    sandbox = start_sandbox(token="right-token")

    with pytest.raises(LMSRejected) as no_token:
        make_lms(sandbox.base_url).groups()
    with pytest.raises(LMSRejected) as bad_token:
        make_lms(sandbox.base_url, auth=BearerToken("wrong-token")).groups()
    assert len(make_lms(sandbox.base_url, auth=BearerToken("right-token")).groups()) == 5

    assert no_token.value.status == 401
    assert bad_token.value.status == 401
    assert "credentials" in str(bad_token.value)


def test_oauth_client_credentials_token_is_fetched_cached_and_used(
    start_sandbox: Callable[..., SandboxServer],
    start_token_endpoint: Callable[..., TokenEndpoint],
) -> None:
    issuer = start_token_endpoint(["oauth-token-1"])
    sandbox = start_sandbox(token="oauth-token-1")
    settings = Settings(
        lms_url=sandbox.base_url,
        lms_oauth_token_url=issuer.url,
        lms_oauth_client_id="talentsync",
        lms_oauth_client_secret="s3cret",
        lms_oauth_scope="scim.write",
        lms_max_retries=0,
    )

    with ScimLMS.from_settings(settings) as lms:
        user = lms.create_user(make_employee())
        assert lms.find_user(str(user.external_id)) == user
        assert len(lms.groups()) == 5

    assert issuer.issued == ["oauth-token-1"]


def test_oauth_token_is_refetched_when_the_lms_refuses_it(
    start_sandbox: Callable[..., SandboxServer],
    start_token_endpoint: Callable[..., TokenEndpoint],
    make_lms: MakeLMS,
) -> None:
    issuer = start_token_endpoint(["old-token", "new-token"])
    sandbox = start_sandbox(token="old-token")
    lms = make_lms(sandbox.base_url, auth=ClientCredentials(issuer.url, "talentsync", "s3cret"))

    lms.groups()
    # The LMS rotates its keys: the cached token is now refused.
    scim_app = cast(BearerTokenApplication, sandbox.app.scim_app)  # started with a token
    scim_app.bearer_tokens = {"new-token"}
    assert len(lms.groups()) == 5

    assert issuer.issued == ["old-token", "new-token"]


def test_oauth_token_is_refetched_after_expiry(
    start_sandbox: Callable[..., SandboxServer],
    start_token_endpoint: Callable[..., TokenEndpoint],
    make_lms: MakeLMS,
) -> None:
    issuer = start_token_endpoint(["only-token"], expires_in=600)
    sandbox = start_sandbox(token="only-token")
    now = [1000.0]
    auth = ClientCredentials(issuer.url, "talentsync", "s3cret", clock=lambda: now[0])
    lms = make_lms(sandbox.base_url, auth=auth)

    lms.groups()
    now[0] += 300
    lms.groups()
    assert len(issuer.issued) == 1
    now[0] += 290  # inside the 30 s expiry leeway
    lms.groups()

    assert len(issuer.issued) == 2


def test_oauth_wrong_client_secret_is_rejected(
    start_sandbox: Callable[..., SandboxServer],
    start_token_endpoint: Callable[..., TokenEndpoint],
    make_lms: MakeLMS,
) -> None:
    issuer = start_token_endpoint(["oauth-token-1"])
    sandbox = start_sandbox(token="oauth-token-1")
    auth = ClientCredentials(issuer.url, "talentsync", "not-the-secret")

    with pytest.raises(LMSRejected) as caught:
        make_lms(sandbox.base_url, auth=auth).groups()

    assert caught.value.status == 401
    assert "invalid_client" in str(caught.value)
    assert issuer.issued == []


# --- transient failures ------------------------------------------------------------------------


def test_429_with_retry_after_is_retried_then_succeeds(
    lms: ScimLMS, control: SandboxControl
) -> None:
    control.fault(429, count=2, retry_after=1, methods=["POST"])
    started = time.monotonic()

    user = lms.create_user(make_employee())

    assert time.monotonic() - started >= 2.0  # both Retry-After: 1 were honoured
    seen = control.requests()
    assert seen["faults_served"] == 2
    assert [(w["status"], w["faulted"]) for w in seen["write_log"]] == [
        (429, True),
        (429, True),
        (201, False),
    ]
    assert seen["writes"] == {"POST /Users": 1}
    assert control.user_count() == 1
    assert lms.writes == 1
    assert lms.find_user(str(user.external_id)) == user


def test_503_that_outlasts_the_retries_raises_unavailable(
    sandbox: SandboxServer, control: SandboxControl, make_lms: MakeLMS
) -> None:
    control.fault(503, count=10)

    with pytest.raises(LMSUnavailable, match="503") as caught:
        make_lms(sandbox.base_url, max_retries=2).groups()

    assert caught.value.status == 503
    assert control.requests()["faults_served"] == 3  # first attempt + 2 retries


def test_retry_after_beyond_the_limit_hands_back_at_once(
    lms: ScimLMS, control: SandboxControl
) -> None:
    control.fault(429, count=1, retry_after=120)
    started = time.monotonic()

    with pytest.raises(LMSUnavailable, match="Retry-After 120s") as caught:
        lms.groups()

    assert time.monotonic() - started < 1.0
    assert caught.value.retry_after == 120
    assert control.requests()["faults_served"] == 1


def test_unreachable_lms_is_unavailable(make_lms: MakeLMS) -> None:
    lms = make_lms("http://127.0.0.1:9/v2", max_retries=1)  # nothing listens on discard

    with pytest.raises(LMSUnavailable, match="ConnectError"):
        lms.find_user("E1")


# --- sandbox ------------------------------------------------------------------------------------


def test_sandbox_refuses_a_malformed_fault(sandbox: SandboxServer) -> None:
    response = httpx.post(f"{sandbox.root_url}/_sandbox/faults", json={"status": 200})

    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"] == ["status"]


def test_sandbox_faults_can_be_cleared(lms: ScimLMS, sandbox: SandboxServer) -> None:
    httpx.post(f"{sandbox.root_url}/_sandbox/faults", json={"status": 503, "count": 5})
    httpx.delete(f"{sandbox.root_url}/_sandbox/faults")

    assert len(lms.groups()) == 5


def test_thread_writes_counts_only_the_calling_threads_writes(lms: ScimLMS) -> None:
    def create_elsewhere() -> None:
        lms.create_user(make_employee())

    lms.create_user(make_employee())
    other = threading.Thread(target=create_elsewhere)
    other.start()
    other.join()

    assert lms.writes == 2
    assert lms.thread_writes == 1


def test_an_account_is_read_with_its_groups_in_one_request(
    lms: ScimLMS, control: SandboxControl
) -> None:
    groups = lms.groups()
    eng, berlin = groups["dept-eng"].id, groups["loc-berlin"].id
    created = lms.create_account(make_employee())
    assert created.group_ids == frozenset()
    lms.change_memberships(created.user.id, add=[eng, berlin], remove=[])
    before = control.requests()["requests"].get("GET", 0)

    account = lms.read_account(created.user.external_id or "")

    assert account is not None and account.user == created.user
    assert account.group_ids == {eng, berlin}
    assert control.requests()["requests"].get("GET", 0) == before + 1
    assert lms.read_account("E-nobody") is None


def test_membership_changes_go_as_one_bulk_and_count_each_change(
    lms: ScimLMS, control: SandboxControl
) -> None:
    groups = lms.groups()
    user = lms.create_user(make_employee())
    eng, berlin, sales = (groups[g].id for g in ("dept-eng", "loc-berlin", "all-staff"))
    lms.add_member(sales, user.id)
    writes_before = lms.writes

    lms.change_memberships(user.id, add=[eng, berlin], remove=[sales])

    seen = control.requests()
    assert seen["writes"]["POST /Bulk"] == 1
    assert seen["bulk_operations"] == {"PATCH /Groups/{id}": 3}
    assert lms.writes - writes_before == 3
    assert lms.member_group_ids(user.id) == {eng, berlin}


def test_without_bulk_each_group_is_one_patch(
    sandbox: SandboxServer, control: SandboxControl, make_lms: Callable[..., ScimLMS]
) -> None:
    lms = make_lms(sandbox.base_url, bulk=False)
    groups = lms.groups()
    user = lms.create_user(make_employee())
    lms.change_memberships(user.id, add=[groups["dept-eng"].id, groups["loc-berlin"].id], remove=[])
    assert control.requests()["writes"] == {"POST /Users": 1, "PATCH /Groups/{id}": 2}


def test_a_failed_bulk_is_retried_then_reported_with_nothing_half_applied(
    sandbox: SandboxServer, control: SandboxControl, make_lms: Callable[..., ScimLMS]
) -> None:
    lms = make_lms(sandbox.base_url, max_retries=1)
    groups = lms.groups()
    user = lms.create_user(make_employee())
    control.fault(503, count=2, templates=["/Bulk"])

    with pytest.raises(LMSUnavailable):
        lms.change_memberships(
            user.id, add=[groups["dept-eng"].id, groups["loc-berlin"].id], remove=[]
        )
    assert lms.member_group_ids(user.id) == set()

    lms.change_memberships(user.id, add=[groups["dept-eng"].id, groups["loc-berlin"].id], remove=[])
    assert lms.member_group_ids(user.id) == {groups["dept-eng"].id, groups["loc-berlin"].id}


def test_removing_a_non_member_inside_a_bulk_counts_as_done(lms: ScimLMS) -> None:
    groups = lms.groups()
    user = lms.create_user(make_employee())
    lms.change_memberships(user.id, add=[groups["dept-eng"].id], remove=[groups["loc-berlin"].id])
    assert lms.member_group_ids(user.id) == {groups["dept-eng"].id}
