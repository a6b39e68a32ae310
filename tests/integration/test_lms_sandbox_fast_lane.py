"""The sandbox's fast lane (``tools.lms.sandbox_fast``) answers exactly as scim2-server's
generic path does: the same requests, sent to a sandbox with the lane and to one without,
get the same statuses, headers and bodies (ids, URLs and times aside), and the same
versions, since both make the same writes in the same order."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from core.catalog import Catalog
from tools.lms.sandbox import SandboxServer

TOKEN = "fast-lane-token"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
USER_SCHEMAS = [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
]
COMPARED_HEADERS = ("content-type", "etag", "location", "content-location", "cache-control")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def new_user(external_id: str, user_name: str) -> dict[str, Any]:
    """A user as the provisioning client creates one (``scim_mapping.user_resource``)."""
    return {
        "schemas": USER_SCHEMAS,
        "userName": user_name,
        "externalId": external_id,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "displayName": "Ada Lovelace",
        "title": "Engineer",
        "userType": "employee",
        "active": True,
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        USER_SCHEMAS[1]: {"employeeNumber": external_id, "department": "Engineering"},
    }


def add(user: str) -> dict[str, Any]:
    return {"op": "add", "path": "members", "value": [{"value": user}]}


def remove(user: str) -> dict[str, Any]:
    return {"op": "remove", "path": f'members[value eq "{user}"]'}


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def bulk(*operations: tuple[str, dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [BULK_REQUEST],
        "Operations": [
            {"method": "PATCH", "path": path, "data": data, **extra} for path, data in operations
        ],
    }


class Lane:
    """One sandbox and a client whose requests name resources by symbols (``{A}``,
    ``{g:dept-eng}``), so one script runs against two sandboxes with different ids."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.http = httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        self.names: dict[str, str] = {}  # symbol -> id
        groups = self.http.get("/Groups", params={"count": 100}).json()["Resources"]
        for group in groups:
            self.names[f"g:{group['externalId']}"] = group["id"]
        self.etags: dict[str, str] = {}

    def fill(self, text: str) -> str:
        for symbol, resource_id in self.names.items():
            text = text.replace("{" + symbol + "}", resource_id)
        return text

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Send a request and return its answer with ids, URLs and times made symbolic."""
        content = None if body is None else self.fill(json.dumps(body)).encode()
        sent_headers = {"Content-Type": "application/scim+json", **(headers or {})}
        response = self.http.request(
            method,
            self.fill(path),
            content=content,
            params={k: self.fill(v) for k, v in (params or {}).items()},
            headers={k: self.fill(v) for k, v in sent_headers.items()},
        )
        if name is not None and response.status_code == 201:
            self.names[name] = response.json()["id"]
        return self.normal(response)

    def normal(self, response: httpx.Response) -> dict[str, Any]:
        def symbolic(text: str) -> str:
            text = text.replace(self.server.base_url, "{base}")
            for symbol, resource_id in self.names.items():
                text = text.replace(resource_id, "{" + symbol + "}")
            return TIME.sub("{time}", text)

        return {
            "status": response.status_code,
            "headers": {
                key: symbolic(response.headers[key])
                for key in COMPARED_HEADERS
                if key in response.headers
            },
            "body": json.loads(symbolic(response.text)) if response.content else None,
        }

    def lookup(self, external_id: str, **params: str) -> dict[str, Any]:
        """The provisioning client's lookup (``ScimLMS.read_account``)."""
        query = {"startIndex": "1", "count": "2", "filter": f'externalId eq "{external_id}"'}
        return self.send("GET", "/Users", params={**query, **params})

    def batch_lookup(self, *external_ids: str, count: str = "100") -> dict[str, Any]:
        """A batch's lookup (``ScimLMS.read_accounts``), checked against the generic path's
        answer on this same sandbox (the same filter in parentheses, which the fast lane
        leaves to it): order, totals and pages included, which two sandboxes with different
        ids cannot be compared on."""
        scim_filter = " or ".join(f'externalId eq "{e}"' for e in external_ids)
        query = {"startIndex": "1", "count": count}
        before = self.answered.get("GET /Users", 0)
        answer = self.send("GET", "/Users", params={**query, "filter": scim_filter})
        generic = self.send("GET", "/Users", params={**query, "filter": f"({scim_filter})"})
        assert answer == generic
        if self.server.app.fast_lane is not None:
            assert self.answered.get("GET /Users", 0) == before + 1
        return answer

    def lookup_matches_read(self, external_id: str) -> None:
        """The fast lane's entry for a user is, times included, what the generic path
        answers to ``GET /Users/{id}`` on the same sandbox."""
        query = {"startIndex": "1", "count": "2", "filter": f'externalId eq "{external_id}"'}
        (entry,) = self.http.get("/Users", params=query).json()["Resources"]
        assert entry == self.http.get(f"/Users/{entry['id']}").json()

    @property
    def answered(self) -> dict[str, int]:
        fast = self.server.app.fast_lane
        return dict(fast.answered) if fast is not None else {}


@pytest.fixture
def lanes(catalog: Catalog) -> Iterator[tuple[Lane, Lane]]:
    with (
        SandboxServer(catalog, TOKEN) as fast_server,
        SandboxServer(catalog, TOKEN, fast_lane=False) as generic_server,
    ):
        fast, generic = Lane(fast_server), Lane(generic_server)
        yield fast, generic
        fast.http.close()
        generic.http.close()


@pytest.fixture
def same(lanes: tuple[Lane, Lane]) -> Callable[..., dict[str, Any]]:
    """Send one request to both sandboxes; their answers must be equal."""

    def send(method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        fast, generic = lanes
        call = "lookup" if method == "LOOKUP" else "send"
        method_args = args if method == "LOOKUP" else (method, *args)
        fast_answer: dict[str, Any] = getattr(fast, call)(*method_args, **kwargs)
        generic_answer: dict[str, Any] = getattr(generic, call)(*method_args, **kwargs)
        assert fast_answer == generic_answer
        return fast_answer

    return send


def test_the_clients_requests_answer_as_the_generic_path(
    lanes: tuple[Lane, Lane], same: Callable[..., dict[str, Any]]
) -> None:
    fast, _ = lanes
    assert same("LOOKUP", "E-1")["body"]["totalResults"] == 0
    created = same("POST", "/Users", body=new_user("E-1", "ada@example.com"), name="A")
    assert created["status"] == 201
    found = same("LOOKUP", "E-1")["body"]
    assert found["Resources"][0]["id"] == "{A}"
    assert "groups" not in found["Resources"][0]

    outcome = same(
        "POST",
        "/Bulk",
        body=bulk(
            ("/Groups/{g:dept-eng}", patch(add("{A}"))),
            ("/Groups/{g:loc-berlin}", patch(add("{A}"))),
            ("/Groups/{g:all-staff}", patch(add("{A}"))),
            ("/Groups/{g:cur-security}", patch(remove("{A}"))),  # not a member: a no-op
        ),
    )
    assert [o["status"] for o in outcome["body"]["Operations"]] == ["200"] * 4
    user = same("LOOKUP", "E-1")["body"]["Resources"][0]
    assert [g["value"] for g in user["groups"]] == [
        "{g:dept-eng}",
        "{g:loc-berlin}",
        "{g:all-staff}",
    ]
    fast.lookup_matches_read("E-1")

    removed = same("PATCH", "/Groups/{g:loc-berlin}", body=patch(remove("{A}")))
    assert removed["status"] == 204
    assert removed["headers"]["etag"].startswith('W/"')
    same("PATCH", "/Groups/{g:prog-managers}", body=patch(add("{A}"), add("{A}")))
    user = same("LOOKUP", "E-1")["body"]["Resources"][0]
    assert [g["value"] for g in user["groups"]] == [
        "{g:dept-eng}",
        "{g:all-staff}",
        "{g:prog-managers}",
    ]
    fast.lookup_matches_read("E-1")
    assert fast.answered == {"GET /Users": 6, "POST /Bulk": 1, "PATCH /Groups/{id}": 2}


def test_a_kept_user_answers_its_changes(
    lanes: tuple[Lane, Lane], same: Callable[..., dict[str, Any]]
) -> None:
    """The fast lane keeps a user's JSON between lookups; every change shows in the next."""
    same("POST", "/Users", body=new_user("E-2", "bea@example.com"), name="B")
    same("POST", "/Bulk", body=bulk(("/Groups/{g:dept-eng}", patch(add("{B}")))))
    before = same("LOOKUP", "E-2")["body"]["Resources"][0]

    title = patch({"op": "replace", "value": {"title": "Staff engineer"}})
    same("PATCH", "/Users/{B}", body=title)
    after = same("LOOKUP", "E-2")["body"]["Resources"][0]
    assert after["title"] == "Staff engineer"
    assert after["meta"]["version"] != before["meta"]["version"]
    lanes[0].lookup_matches_read("E-2")

    replaced = {**new_user("E-2", "bea@example.com"), "title": "Principal"}
    assert same("PUT", "/Users/{B}", body=replaced)["status"] == 200
    assert same("LOOKUP", "E-2")["body"]["Resources"][0]["title"] == "Principal"

    rename = patch({"op": "replace", "path": "displayName", "value": "Engineering & Data"})
    same("PATCH", "/Groups/{g:dept-eng}", body=rename)
    groups = same("LOOKUP", "E-2")["body"]["Resources"][0]["groups"]
    assert groups[0]["display"] == "Engineering & Data"

    same("DELETE", "/Groups/{g:dept-eng}")
    assert "groups" not in same("LOOKUP", "E-2")["body"]["Resources"][0]


def test_a_stale_version_is_refused_and_changes_nothing(
    lanes: tuple[Lane, Lane], same: Callable[..., dict[str, Any]]
) -> None:
    same("POST", "/Users", body=new_user("E-3", "cy@example.com"), name="C")
    first = same("PATCH", "/Groups/{g:dept-eng}", body=patch(add("{C}")))
    stale = {"If-Match": first["headers"]["etag"]}
    same("PATCH", "/Groups/{g:dept-eng}", body=patch(remove("{C}")))

    refused = same("PATCH", "/Groups/{g:dept-eng}", body=patch(add("{C}")), headers=stale)
    assert refused["status"] == 412
    title = patch({"op": "replace", "value": {"title": "Stale"}})
    user_etag = same("LOOKUP", "E-3")["body"]["Resources"][0]["meta"]["version"]
    same("PATCH", "/Users/{C}", body=title)
    refused = same("PATCH", "/Users/{C}", body=title, headers={"If-Match": user_etag})
    assert refused["status"] == 412
    user = same("LOOKUP", "E-3")["body"]["Resources"][0]
    assert "groups" not in user
    assert user["title"] == "Stale"


@pytest.mark.parametrize(
    ("method", "path", "body", "params"),
    [
        ("GET", "/Users", None, {"filter": 'externalId eq "E-4"', "count": "0"}),
        ("GET", "/Users", None, {"filter": 'externalId eq "E-4"', "attributes": "userName"}),
        ("GET", "/Users", None, {"filter": 'externalid eq "E-4"'}),
        ("GET", "/Users", None, {"filter": 'externalId eq "E-4"', "startIndex": "2"}),
        ("GET", "/Users", None, {"filter": 'userName eq "dee@example.com"'}),
        ("GET", "/Users", None, {"filter": 'externalId eq "E-\\"4"'}),
        ("GET", "/Users", None, {"filter": 'externalId eq "E-4" or externalId eq "E-\\"4"'}),
        ("GET", "/Users", None, {"filter": 'externalId eq "E-4" or userName eq "x"'}),
        ("GET", "/Users", None, {"filter": 'externalId eq "E-4" OR externalId eq "E-5"'}),
        (
            "GET",
            "/Users",
            None,
            {"filter": 'externalId eq "E-4" or externalId eq "E-5"', "startIndex": "2"},
        ),
        ("GET", "/Users", None, {"filter": '(externalId eq "E-4" or externalId eq "E-5")'}),
        ("POST", "/Bulk", bulk(("/Groups/unknown-group", patch(add("{D}")))), None),
        ("POST", "/Bulk", bulk(("/Groups/{g:dept-eng}", patch(add("{D}"))), bulkId="b1"), None),
        ("POST", "/Bulk", {**bulk(("/Groups/{g:dept-eng}", patch(add("{D}")))), "x": 1}, None),
        ("POST", "/Bulk", {"schemas": [BULK_REQUEST], "Operations": []}, None),
        ("PATCH", "/Groups/unknown-group", patch(add("{D}")), None),
        ("PATCH", "/Groups/{g:dept-eng}", patch(add("")), None),
        ("PATCH", "/Groups/{g:dept-eng}", patch({"op": "add", "path": "members"}), None),
        ("PATCH", "/Groups/{g:dept-eng}", patch(add("{D}")), {"attributes": "members"}),
        ("PATCH", "/Groups/{g:dept-eng}", {"Operations": [add("{D}")]}, None),
    ],
)
def test_other_requests_take_the_generic_path(
    lanes: tuple[Lane, Lane],
    same: Callable[..., dict[str, Any]],
    method: str,
    path: str,
    body: Any,
    params: dict[str, str] | None,
) -> None:
    fast, _ = lanes
    same("POST", "/Users", body=new_user("E-4", "dee@example.com"), name="D")
    same(method, path, body=body, params=params)
    assert fast.answered == {}


def test_several_users_with_one_external_id(
    lanes: tuple[Lane, Lane], same: Callable[..., dict[str, Any]]
) -> None:
    """externalId is not unique: both paths list such users by id, so two sandboxes (with
    different ids) may list them in different orders; on one sandbox the order is the
    generic path's."""
    same("POST", "/Users", body=new_user("E-5", "eve@example.com"), name="E")
    same("POST", "/Users", body=new_user("E-5", "eve2@example.com"), name="F")
    fast, generic = (lane.lookup("E-5")["body"] for lane in lanes)
    assert fast["totalResults"] == generic["totalResults"] == 2
    assert sorted(fast.pop("Resources"), key=str) == sorted(generic.pop("Resources"), key=str)
    assert fast == generic
    assert lanes[0].answered == {"GET /Users": 1}
    lanes[0].batch_lookup("E-5")
    assert lanes[0].batch_lookup("E-5", count="1")["body"]["itemsPerPage"] == 1


def test_a_batch_lookup_answers_as_the_generic_path(
    lanes: tuple[Lane, Lane], same: Callable[..., dict[str, Any]]
) -> None:
    """``externalId eq`` terms joined by ``or``: the users found, by id, with their groups;
    ids nobody holds, or asked twice, change nothing."""
    for n, symbol in enumerate("HIJK"):
        same("POST", "/Users", body=new_user(f"E-1{n}", f"u{n}@example.com"), name=symbol)
    same(
        "POST",
        "/Bulk",
        body=bulk(
            ("/Groups/{g:dept-eng}", patch(add("{H}"), add("{J}"))),
            ("/Groups/{g:loc-berlin}", patch(add("{J}"))),
        ),
    )
    asked = ("E-12", "E-nobody", "E-10", "E-13", "E-10")
    answers = [lane.batch_lookup(*asked)["body"] for lane in lanes]
    for body in answers:
        assert (body["totalResults"], body["itemsPerPage"]) == (3, 3)
    fast, generic = answers
    by_id = sorted(fast.pop("Resources"), key=str)
    assert by_id == sorted(generic.pop("Resources"), key=str)
    assert fast == generic
    groups = {u["externalId"]: [g["value"] for g in u.get("groups", [])] for u in by_id}
    assert groups == {
        "E-10": ["{g:dept-eng}"],
        "E-12": ["{g:dept-eng}", "{g:loc-berlin}"],
        "E-13": [],
    }

    page = lanes[0].batch_lookup(*asked, count="2")["body"]
    assert (page["totalResults"], page["itemsPerPage"], len(page["Resources"])) == (3, 2, 2)
    assert lanes[0].batch_lookup("E-nobody", "E-none")["body"]["totalResults"] == 0
    lanes[0].batch_lookup("E-11", "E-11")
    assert lanes[0].answered == {"GET /Users": 4, "POST /Bulk": 1}


def test_refused_credentials_take_the_generic_path(lanes: tuple[Lane, Lane]) -> None:
    fast, generic = lanes
    answers = []
    for lane in (fast, generic):
        response = httpx.get(
            f"{lane.server.base_url}/Users",
            params={"filter": 'externalId eq "E-6"'},
            headers={"Authorization": "Bearer wrong"},
        )
        answers.append(lane.normal(response))
    assert answers[0] == answers[1]
    assert answers[0]["status"] == 401
    assert fast.answered == {}


def test_the_request_log_and_faults_see_fast_answers(lanes: tuple[Lane, Lane]) -> None:
    fast, _ = lanes
    fast.send("POST", "/Users", body=new_user("E-7", "fay@example.com"), name="G")
    control = httpx.Client(base_url=fast.server.root_url)
    control.post("/_sandbox/faults", json={"status": 503, "templates": ["/Bulk"]})
    body = bulk(("/Groups/{g:dept-eng}", patch(add("{G}"))))
    assert fast.send("POST", "/Bulk", body=body)["status"] == 503
    assert fast.send("POST", "/Bulk", body=body)["status"] == 200
    log = control.get("/_sandbox/requests").json()
    control.close()
    assert log["faults_served"] == 1
    assert log["bulk_operations"] == {"PATCH /Groups/{id}": 1}
    assert [w["faulted"] for w in log["write_log"] if w["template"] == "/Bulk"] == [True, False]
    assert fast.answered == {"POST /Bulk": 1}
