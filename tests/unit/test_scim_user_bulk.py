"""A batch's user writes as SCIM Bulk operations: which requests a write needs (decided once,
for one write or a batch), how they are cut into bulks, and each write's result read back
from its operations' outcomes as the error its single request would raise."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from tests.factories import make_employee
from tools.lms.errors import LMSConflict, LMSError, LMSRejected, LMSUnavailable
from tools.lms.models import LMSAccount, UserWrite
from tools.lms.scim_mapping import to_lms_user, user_requests, user_resource
from tools.lms.scim_user_bulk import UserBulk


def account_of(employee: Any, user_id: str = "u-1", *, active: bool = True) -> LMSAccount:
    """The account an LMS holding exactly ``employee`` answers."""
    user = replace(to_lms_user(user_resource(employee)), id=user_id, active=active)
    return LMSAccount(user=user, group_ids=frozenset({"g-1"}))


def test_a_new_person_is_one_create_and_a_leaver_never_there_is_nothing() -> None:
    employee = make_employee()
    (create,) = user_requests(UserWrite(employee, None, active=True)) or []
    assert (create.method, create.path) == ("POST", "/Users")
    assert create.data["externalId"] == employee.external_id
    assert create.bulk_operation("b1") == {
        "method": "POST",
        "path": "/Users",
        "bulkId": "b1",
        "data": create.data,
    }
    assert user_requests(UserWrite(employee, None, active=False)) is None


def test_an_update_patches_what_differs_and_active_only_through_its_own_patch() -> None:
    employee = make_employee()
    held = account_of(employee)
    assert user_requests(UserWrite(employee, held, active=True)) == []

    promoted = employee.model_copy(update={"title": "Staff Engineer"})
    (patch,) = user_requests(UserWrite(promoted, held, active=True)) or []
    assert (patch.method, patch.path) == ("PATCH", "/Users/u-1")
    assert patch.data["Operations"] == [{"op": "replace", "value": {"title": "Staff Engineer"}}]
    assert "bulkId" not in patch.bulk_operation("b1")

    attributes, active = user_requests(UserWrite(promoted, held, active=False)) or []
    assert "active" not in attributes.data["Operations"][0]["value"]
    assert active.data["Operations"] == [{"op": "replace", "value": {"active": False}}]
    # a record that says inactive does not deactivate unless the caller says so
    leaver = employee.model_copy(update={"employment_status": "inactive"})
    assert user_requests(UserWrite(leaver, held, active=True)) == []


def _writes() -> list[UserWrite]:
    hire, taken, mover, leaver = (make_employee() for _ in range(4))
    return [
        UserWrite(hire, None, active=True),
        UserWrite(taken, None, active=True),
        UserWrite(mover.model_copy(update={"title": "Boss"}), account_of(mover, "u-m"), True),
        UserWrite(leaver, account_of(leaver, "u-l"), active=False),
        UserWrite(make_employee(), None, active=False),  # never there: nothing
    ]


def _bulk(writes: list[UserWrite]) -> UserBulk:
    return UserBulk(writes, [user_requests(w) for w in writes])


def test_each_write_ends_as_its_single_request_would() -> None:
    writes = _writes()
    bulk = _bulk(writes)
    (chunk,) = bulk.chunks(10, None)
    body = bulk.body(chunk)
    assert [(op["method"], op["path"], op.get("bulkId")) for op in body["Operations"]] == [
        ("POST", "/Users", "user-0"),
        ("POST", "/Users", "user-1"),
        ("PATCH", "/Users/u-m", None),
        ("PATCH", "/Users/u-l", None),
    ]
    answer = {
        "Operations": [
            {
                "method": "POST",
                "bulkId": "user-0",
                "status": "201",
                "location": "https://lms/v2/Users/new-1",
            },
            {
                "method": "POST",
                "bulkId": "user-1",
                "status": "409",
                "response": {"status": "409", "scimType": "uniqueness", "detail": "taken"},
            },
            {"method": "PATCH", "status": "503", "location": "https://lms/v2/Users/u-m"},
            {
                "method": "PATCH",
                "status": "400",
                "location": "https://lms/v2/Users/u-l",
                "response": {"scimType": "mutability", "detail": "no"},
            },
        ]
    }

    assert bulk.record(chunk, answer) == 1
    assert bulk.refused_creates() == [writes[1].employee]
    bulk.resolve([None])  # nobody with its externalId: its userName is someone else's
    results = bulk.results()

    created = results[0]
    assert isinstance(created, LMSAccount) and created.group_ids == frozenset()
    assert created.user == replace(to_lms_user(user_resource(writes[0].employee)), id="new-1")
    conflict = results[1]
    assert isinstance(conflict, LMSConflict)
    assert (conflict.status, conflict.scim_type, conflict.detail) == (409, "uniqueness", "taken")
    assert "held by a user with a different externalId" in str(conflict)
    throttled = results[2]
    assert isinstance(throttled, LMSUnavailable) and throttled.status == 503
    assert "PATCH /Users/u-m (in POST /Bulk)" in str(throttled)
    refused = results[3]
    assert type(refused) is LMSRejected and refused.scim_type == "mutability"
    assert results[4] is None
    assert results.writes == [1, 0, 0, 0, 0]


def test_a_create_refused_because_it_was_done_already_is_the_account_found() -> None:
    writes = _writes()[:2]
    bulk = _bulk(writes)
    (chunk,) = bulk.chunks(10, None)
    conflict = {"status": "409", "response": {"scimType": "uniqueness"}}
    bulk.record(chunk, {"Operations": [conflict, conflict]})
    found = account_of(writes[0].employee, "u-0")
    failed_read = LMSUnavailable("LMS failed GET /Users", status=503)

    bulk.resolve([found, failed_read])

    assert bulk.results() == [found, failed_read]
    assert bulk.results().writes == [0, 0]


def test_a_write_with_nothing_to_send_is_its_account_and_a_patch_failure_fails_the_write() -> None:
    employee = make_employee()
    held = account_of(employee)
    both = UserWrite(employee.model_copy(update={"title": "Boss"}), held, active=False)
    bulk = _bulk([UserWrite(employee, held, active=True), both])
    (chunk,) = bulk.chunks(10, None)
    bulk.record(chunk, {"Operations": [{"status": "200"}, {"status": "404"}]})
    results = bulk.results()
    assert results[0] == held
    assert isinstance(results[1], LMSRejected) and results[1].status == 404
    assert results.writes == [0, 1]


def test_bulks_hold_at_most_max_operations_and_max_payload_bytes() -> None:
    writes = [UserWrite(make_employee(), None, active=True) for _ in range(7)]
    bulk = _bulk(writes)
    assert [len(c) for c in bulk.chunks(3, None)] == [3, 3, 1]
    one = len(json.dumps(bulk.body(range(1))))
    chunks = list(bulk.chunks(1000, 2 * one))
    assert [len(c) for c in chunks] == [2, 2, 2, 1]
    assert all(len(json.dumps(bulk.body(c))) <= 2 * one for c in chunks)
    assert [len(c) for c in bulk.chunks(1000, 10)] == [1] * 7  # one alone even when larger


@pytest.mark.parametrize(
    "answer",
    [
        {"Operations": [{"status": "201", "location": "https://lms/v2/Users/x"}]},  # one of two
        {"Operations": [{"status": "201"}, {"status": "oops"}]},
        {
            "Operations": [
                {"status": "201", "bulkId": "user-1", "location": "https://lms/v2/Users/x"},
                {"status": "201", "bulkId": "user-0", "location": "https://lms/v2/Users/y"},
            ]
        },
        None,
    ],
)
def test_an_answer_that_cannot_be_matched_to_the_operations_raises(answer: Any) -> None:
    bulk = _bulk([UserWrite(make_employee(), None, active=True) for _ in range(2)])
    (chunk,) = bulk.chunks(10, None)
    with pytest.raises(LMSError):
        bulk.record(chunk, answer)


def test_a_create_answered_without_location_fails_its_write() -> None:
    bulk = _bulk([UserWrite(make_employee(), None, active=True)])
    (chunk,) = bulk.chunks(10, None)
    assert bulk.record(chunk, {"Operations": [{"status": "201"}]}) == 1
    (result,) = bulk.results()
    assert isinstance(result, LMSError) and "no location" in str(result)
