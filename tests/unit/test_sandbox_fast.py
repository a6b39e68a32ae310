"""The sandbox fast lane's pieces that need no server: which lookups and PATCH bodies it
recognises, and how kept user JSON follows versions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from scim2_models import Meta

from tools.lms.sandbox_dumps import UserDumps, json_datetime
from tools.lms.sandbox_fast import _external_ids, _member_patch
from tools.lms.sandbox_storage import MemberChange

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def patch(*operations: Any) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


@pytest.mark.parametrize(
    ("scim_filter", "values"),
    [
        ('externalId eq "E-1"', ["E-1"]),
        ('externalId eq "E-1" or externalId eq "E-2"', ["E-1", "E-2"]),
        ('externalId eq "a or b" or externalId eq ""', ["a or b", ""]),
        ('externalId eq "x" or externalId eq "y" or externalId eq "x"', ["x", "y", "x"]),
    ],
)
def test_lookups_by_external_id_are_recognised(scim_filter: str, values: list[str]) -> None:
    assert _external_ids(scim_filter) == values


@pytest.mark.parametrize(
    "scim_filter",
    [
        "",
        'externalId eq "E-1" or',
        'externalId eq "E-1"  or externalId eq "E-2"',
        'externalId eq "E-1" OR externalId eq "E-2"',
        'externalId eq "E-1" and externalId eq "E-2"',
        'externalId eq "E-1" or userName eq "E-2"',
        'externalid eq "E-1" or externalId eq "E-2"',
        '(externalId eq "E-1" or externalId eq "E-2")',
        'externalId eq "E-1" or externalId eq "E\\"2"',
        'externalId eq "E-1" or externalId eq "E-\u00012"',
        'externalId eq "E-1" or externalId eq E-2',
        'externalId eq "E-1" or externalId eq "E-2" or not (externalId eq "E-3")',
    ],
)
def test_other_filters_are_left_to_the_generic_path(scim_filter: str) -> None:
    assert _external_ids(scim_filter) is None


def test_member_adds_and_removes_are_recognised() -> None:
    body = patch(
        {"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
        {"op": "remove", "path": 'members[value eq "u3"]'},
    )
    assert _member_patch(body) == [
        MemberChange(True, "u1"),
        MemberChange(True, "u2"),
        MemberChange(False, "u3"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        patch(),
        {"Operations": [{"op": "add", "path": "members", "value": [{"value": "u1"}]}]},
        {**patch({"op": "add", "path": "members", "value": [{"value": "u1"}]}), "x": 1},
        patch({"op": "Add", "path": "members", "value": [{"value": "u1"}]}),
        patch({"op": "add", "path": "Members", "value": [{"value": "u1"}]}),
        patch({"op": "add", "path": "members", "value": []}),
        patch({"op": "add", "path": "members", "value": {"value": "u1"}}),
        patch({"op": "add", "path": "members", "value": [{"value": ""}]}),
        patch({"op": "add", "path": "members", "value": [{"value": 7}]}),
        patch({"op": "add", "path": "members", "value": [{"value": "u1", "display": "U"}]}),
        patch({"op": "add", "path": "members"}),
        patch({"op": "replace", "path": "members", "value": [{"value": "u1"}]}),
        patch({"op": "remove", "path": "members"}),
        patch({"op": "remove", "path": 'members[value eq ""]'}),
        patch({"op": "remove", "path": 'members[value eq "u\\"1"]'}),
        patch({"op": "remove", "path": 'members[display eq "u1"]'}),
        patch({"op": "remove", "path": 'members[value eq "u1"]', "value": "x"}),
        patch({"op": "replace", "path": "displayName", "value": "New"}),
        "not a patch",
        None,
    ],
)
def test_anything_else_is_left_to_the_generic_path(body: Any) -> None:
    assert _member_patch(body) is None


def meta(version: str, second: int) -> Meta:
    at = datetime(2026, 1, 2, 3, 4, second, 500, tzinfo=UTC)
    return Meta(resource_type="User", created=at, last_modified=at, version=version)


def test_kept_json_is_found_only_for_its_version_and_url() -> None:
    dumps = UserDumps()
    dumps.put("u1", 'W/"1"', "http://a/v2", {"id": "u1"})
    assert dumps.get("u1", 'W/"1"', "http://a/v2") == {"id": "u1"}
    assert dumps.get("u1", 'W/"2"', "http://a/v2") is None
    assert dumps.get("u1", 'W/"1"', "http://b/v2") is None
    assert dumps.get("u2", 'W/"1"', "http://a/v2") is None


def test_a_membership_change_carries_the_json_to_the_new_version() -> None:
    dumps = UserDumps()
    kept_meta = {"version": 'W/"1"', "lastModified": "old", "created": "c"}
    kept: dict[str, Any] = {"id": "u1", "meta": kept_meta}
    dumps.put("u1", 'W/"1"', "http://a/v2", kept)
    after = meta('W/"5"', 9)
    dumps.retag("u1", 'W/"1"', after)
    assert dumps.get("u1", 'W/"1"', "http://a/v2") is None
    carried = dumps.get("u1", 'W/"5"', "http://a/v2")
    assert carried == {
        "id": "u1",
        "meta": {"version": 'W/"5"', "lastModified": "2026-01-02T03:04:09.000500Z", "created": "c"},
    }
    assert kept_meta["version"] == 'W/"1"'  # answers already given are not changed


def test_a_retag_from_another_version_drops_nothing_stale_in() -> None:
    dumps = UserDumps()
    dumps.put("u1", 'W/"3"', "http://a/v2", {"id": "u1", "meta": {}})
    dumps.retag("u1", 'W/"2"', meta('W/"4"', 1))  # the kept JSON is not of the old version
    assert dumps.get("u1", 'W/"4"', "http://a/v2") is None
    assert dumps.get("u1", 'W/"3"', "http://a/v2") is not None


def test_the_oldest_user_goes_first_when_full() -> None:
    dumps = UserDumps(size=2)
    for user in ("u1", "u2"):
        dumps.put(user, "v", "b", {"id": user})
    assert dumps.get("u1", "v", "b") is not None  # u1 is now the most recent
    dumps.put("u3", "v", "b", {"id": "u3"})
    assert dumps.get("u2", "v", "b") is None
    assert dumps.get("u1", "v", "b") is not None


def test_dates_are_written_as_the_models_write_them() -> None:
    at = meta('W/"1"', 7)
    dumped = at.model_dump(mode="json", by_alias=True)
    assert json_datetime(at.last_modified) == dumped["lastModified"]  # type: ignore[arg-type]
