"""The bundled LMS sandbox itself, over HTTP: User.groups (RFC 7643 §4.1.2), bulk (RFC 7644
§3.7) recorded and faultable, keep-alive, and the preloaded workforce with its indexes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from core.catalog import Catalog, load_catalog
from tests.factories import make_employee
from tools.lms.sandbox import SandboxServer
from tools.lms.sandbox_workforce import preloaded_external_id, workforce
from tools.lms.scim import ScimLMS

if TYPE_CHECKING:
    from tests.integration.conftest import SandboxControl

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SCIM_JSON = {"Content-Type": "application/scim+json"}


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def add(user_id: str) -> dict[str, Any]:
    return {"op": "add", "path": "members", "value": [{"value": user_id}]}


def remove(user_id: str) -> dict[str, Any]:
    return {"op": "remove", "path": f'members[value eq "{user_id}"]'}


def bulk_body(*operations: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [BULK_REQUEST],
        "Operations": [
            {"method": method, "path": path, "data": data} for method, path, data in operations
        ],
    }


@pytest.fixture
def http(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as client:
        yield client


def user_groups(http: httpx.Client, user_id: str, **params: str) -> dict[str, dict[str, Any]]:
    body = http.get(f"/Users/{user_id}", params=params).json()
    return {g["value"]: g for g in body.get("groups", [])}


# --- User.groups -----------------------------------------------------------------------------


def test_user_groups_follow_member_patches(lms: ScimLMS, http: httpx.Client) -> None:
    user = lms.create_user(make_employee())
    other = lms.create_user(make_employee())
    groups = lms.groups()
    eng, berlin = groups["dept-eng"], groups["loc-berlin"]
    assert user_groups(http, user.id) == {}

    lms.add_member(eng.id, user.id)
    lms.add_member(berlin.id, user.id)
    lms.add_member(eng.id, other.id)
    held = user_groups(http, user.id)
    assert set(held) == {eng.id, berlin.id}
    assert held[eng.id]["display"] == "Engineering"
    assert held[eng.id]["type"] == "direct"
    assert held[eng.id]["$ref"] == f"{lms.base_url}/Groups/{eng.id}"

    lms.remove_member(eng.id, user.id)
    assert set(user_groups(http, user.id)) == {berlin.id}
    assert set(user_groups(http, other.id)) == {eng.id}
    # the lookup the client makes carries them too
    found = http.get("/Users", params={"filter": f'externalId eq "{user.external_id}"'}).json()
    assert [g["value"] for g in found["Resources"][0]["groups"]] == [berlin.id]


def test_user_groups_honour_attributes(lms: ScimLMS, http: httpx.Client) -> None:
    user = lms.create_user(make_employee())
    eng = lms.groups()["dept-eng"]
    lms.add_member(eng.id, user.id)

    assert set(user_groups(http, user.id, attributes="groups")) == {eng.id}
    assert set(user_groups(http, user.id, attributes="groups.value")) == {eng.id}
    assert user_groups(http, user.id, attributes="userName") == {}
    assert user_groups(http, user.id, excludedAttributes="groups") == {}
    assert set(user_groups(http, user.id, excludedAttributes="title")) == {eng.id}


def test_a_membership_change_gives_the_user_a_new_version(lms: ScimLMS, http: httpx.Client) -> None:
    user = lms.create_user(make_employee())
    before = http.get(f"/Users/{user.id}").headers["ETag"]
    lms.add_member(lms.groups()["dept-eng"].id, user.id)
    assert http.get(f"/Users/{user.id}").headers["ETag"] != before


def test_group_rename_shows_in_user_groups(lms: ScimLMS, http: httpx.Client) -> None:
    user = lms.create_user(make_employee())
    eng = lms.groups()["dept-eng"]
    lms.add_member(eng.id, user.id)
    renamed = http.patch(
        f"/Groups/{eng.id}",
        json=patch_body({"op": "replace", "path": "displayName", "value": "Engineering & IT"}),
        headers=SCIM_JSON,
    )
    assert renamed.status_code == 204
    assert user_groups(http, user.id)[eng.id]["display"] == "Engineering & IT"
    assert [m["value"] for m in http.get(f"/Groups/{eng.id}").json()["members"]] == [user.id]


def test_a_patch_mixing_members_and_attributes_and_a_put_keep_the_index_true(
    lms: ScimLMS, http: httpx.Client
) -> None:
    """These take scim2-server's generic path; the member index must follow it."""
    first, second = lms.create_user(make_employee()), lms.create_user(make_employee())
    eng = lms.groups()["dept-eng"]
    mixed = http.patch(
        f"/Groups/{eng.id}",
        json=patch_body(
            add(first.id), {"op": "replace", "path": "displayName", "value": "Engineering"}
        ),
        headers=SCIM_JSON,
    )
    assert mixed.status_code == 204
    assert set(user_groups(http, first.id)) == {eng.id}

    put = http.put(
        f"/Groups/{eng.id}",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "externalId": "dept-eng",
            "members": [{"value": second.id}],
        },
        headers=SCIM_JSON,
    )
    assert put.status_code == 200, put.text
    assert user_groups(http, first.id) == {}
    assert set(user_groups(http, second.id)) == {eng.id}
    assert lms.member_group_ids(second.id) == {eng.id}
    assert lms.member_group_ids(first.id) == set()


def test_deleting_a_user_takes_it_out_of_its_groups(lms: ScimLMS, http: httpx.Client) -> None:
    user = lms.create_user(make_employee())
    eng = lms.groups()["dept-eng"]
    lms.add_member(eng.id, user.id)
    assert http.delete(f"/Users/{user.id}").status_code == 204
    assert "members" not in http.get(f"/Groups/{eng.id}").json()
    assert lms.member_group_ids(user.id) == set()


def test_patch_asking_for_members_gets_them(lms: ScimLMS, http: httpx.Client) -> None:
    user = lms.create_user(make_employee())
    eng = lms.groups()["dept-eng"]
    answer = http.patch(
        f"/Groups/{eng.id}",
        params={"attributes": "members"},
        json=patch_body(add(user.id)),
        headers=SCIM_JSON,
    )
    assert answer.status_code == 200
    assert answer.json()["members"] == [{"value": user.id}]


# --- bulk ------------------------------------------------------------------------------------


def test_service_provider_config_advertises_bulk(http: httpx.Client) -> None:
    bulk = http.get("/ServiceProviderConfig").json()["bulk"]
    assert bulk == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576}


def test_bulk_member_patches_apply_and_are_recorded_as_one_write(
    lms: ScimLMS, http: httpx.Client, control: SandboxControl
) -> None:
    user = lms.create_user(make_employee())
    groups = lms.groups()
    eng, berlin, security = groups["dept-eng"], groups["loc-berlin"], groups["cur-security"]
    lms.add_member(security.id, user.id)
    httpx.delete(f"{control.server.root_url}/_sandbox/requests")

    answer = http.post(
        "/Bulk",
        json=bulk_body(
            ("PATCH", f"/Groups/{eng.id}", patch_body(add(user.id))),
            ("PATCH", f"/Groups/{berlin.id}", patch_body(add(user.id))),
            ("PATCH", f"/Groups/{security.id}", patch_body(remove(user.id))),
        ),
        headers=SCIM_JSON,
    )

    assert answer.status_code == 200
    assert [op["status"] for op in answer.json()["Operations"]] == ["200", "200", "200"]
    assert set(user_groups(http, user.id)) == {eng.id, berlin.id}
    assert lms.member_group_ids(user.id) == {eng.id, berlin.id}
    seen = control.requests()
    assert seen["writes"] == {"POST /Bulk": 1}
    assert seen["bulk_operations"] == {"PATCH /Groups/{id}": 3}
    (entry,) = seen["write_log"]
    assert entry["operations"] == [
        {"method": "PATCH", "template": "/Groups/{id}", "status": 200} for _ in range(3)
    ]


def test_a_fault_on_bulk_fails_the_whole_request_and_only_it(
    lms: ScimLMS, http: httpx.Client, control: SandboxControl
) -> None:
    user = lms.create_user(make_employee())
    eng, berlin = lms.groups()["dept-eng"], lms.groups()["loc-berlin"]
    control.fault(503, 1, templates=["/Bulk"])

    lms.add_member(berlin.id, user.id)  # not a bulk request: not faulted
    answer = http.post(
        "/Bulk",
        json=bulk_body(("PATCH", f"/Groups/{eng.id}", patch_body(add(user.id)))),
        headers=SCIM_JSON,
    )

    assert answer.status_code == 503
    assert set(user_groups(http, user.id)) == {berlin.id}
    seen = control.requests()
    assert seen["faults_served"] == 1
    assert "POST /Bulk" not in seen["writes"]
    assert seen["bulk_operations"] == {}
    faulted = [w for w in seen["write_log"] if w["template"] == "/Bulk"]
    assert faulted[0]["faulted"] is True
    assert faulted[0]["operations"] == [
        {"method": "PATCH", "template": "/Groups/{id}", "status": None}
    ]

    again = http.post(
        "/Bulk",
        json=bulk_body(("PATCH", f"/Groups/{eng.id}", patch_body(add(user.id)))),
        headers=SCIM_JSON,
    )
    assert again.status_code == 200
    assert set(user_groups(http, user.id)) == {eng.id, berlin.id}


# --- keep-alive ------------------------------------------------------------------------------


def test_keep_alive_serves_many_requests_on_one_connection(sandbox: SandboxServer) -> None:
    with httpx.Client(base_url=sandbox.base_url) as client:
        answers = [client.get("/Groups", params={"count": 1}) for _ in range(3)]
        answers.append(
            client.post(
                "/Users",
                json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "k"},
                headers=SCIM_JSON,
            )
        )
    assert [a.http_version for a in answers] == ["HTTP/1.1"] * 4
    assert [a.status_code for a in answers] == [200, 200, 200, 201]
    assert sandbox.app.requests.snapshot()["connections"] == 1


def test_connection_close_is_honoured(sandbox: SandboxServer) -> None:
    with httpx.Client(base_url=sandbox.base_url, headers={"Connection": "close"}) as client:
        for _ in range(2):
            assert client.get("/Groups", params={"count": 1}).status_code == 200
    assert sandbox.app.requests.snapshot()["connections"] == 2


# --- preload ---------------------------------------------------------------------------------


def test_preload_gives_the_users_and_their_memberships(
    start_sandbox: Callable[..., SandboxServer], catalog: Catalog
) -> None:
    sandbox = start_sandbox(preload=200)
    people = list(workforce(catalog, 200))
    with httpx.Client(base_url=sandbox.base_url) as client:
        assert client.get("/Users", params={"count": 0}).json()["totalResults"] == 200
        groups = {
            g["externalId"]: g
            for g in client.get("/Groups", params={"attributes": "externalId,members"}).json()[
                "Resources"
            ]
        }
        expected = {g.id: 0 for g in catalog.groups}
        for person in people:
            for group_id in person.group_ids:
                expected[group_id] += 1
        assert {k: len(g.get("members", [])) for k, g in groups.items()} == expected
        assert expected["all-staff"] == 200

        first = client.get(
            "/Users", params={"filter": f'externalId eq "{preloaded_external_id(0)}"'}
        ).json()["Resources"][0]
    assert first["userName"] == people[0].user_name
    assert first["emails"][0]["value"] == people[0].user_name
    assert first["active"] is True
    assert first["name"] == {"givenName": people[0].given_name, "familyName": people[0].family_name}
    by_id = {g["id"]: external for external, g in groups.items()}
    assert {by_id[g["value"]] for g in first["groups"]} == set(people[0].group_ids)


def test_preloaded_users_hold_their_unique_and_searchable_values(
    start_sandbox: Callable[..., SandboxServer], catalog: Catalog
) -> None:
    sandbox = start_sandbox(preload=50)
    person = list(workforce(catalog, 50))[7]
    with httpx.Client(base_url=sandbox.base_url) as client:
        by_name = client.get("/Users", params={"filter": f'userName eq "{person.user_name}"'})
        assert [u["externalId"] for u in by_name.json()["Resources"]] == [person.external_id]
        taken = client.post(
            "/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": person.user_name.upper(),
            },
            headers=SCIM_JSON,
        )
    assert taken.status_code == 409


@pytest.mark.slow
def test_filters_answer_correctly_at_20k_users() -> None:
    catalog = load_catalog()
    people = list(workforce(catalog, 20_000))
    with SandboxServer(catalog, preload=20_000) as sandbox, ScimLMS(sandbox.base_url) as lms:
        groups = lms.groups()
        for index in (0, 12_345, 19_999):
            person = people[index]
            user = lms.find_user(person.external_id)
            assert user is not None
            assert user.user_name == person.user_name
            assert lms.member_group_ids(user.id) == {groups[g].id for g in person.group_ids}
        assert lms.find_user(preloaded_external_id(20_000)) is None

        hire = lms.create_user(make_employee())
        lms.add_member(groups["everyone"].id, hire.id)
        assert lms.member_group_ids(hire.id) == {groups["everyone"].id}
        with httpx.Client(base_url=sandbox.base_url) as client:
            everyone = client.get(
                "/Groups",
                params={"filter": 'externalId eq "everyone"', "attributes": "members"},
            ).json()["Resources"][0]
        assert len(everyone["members"]) == 20_001


def test_a_stopped_sandbox_ends_its_kept_alive_connections(catalog: Catalog) -> None:
    sandbox = SandboxServer(catalog).start()
    with httpx.Client(base_url=sandbox.base_url, timeout=5) as client:
        assert client.get("/Groups", params={"count": 1}).status_code == 200
        sandbox.stop()
        with pytest.raises(httpx.TransportError):
            client.get("/Groups", params={"count": 1})
