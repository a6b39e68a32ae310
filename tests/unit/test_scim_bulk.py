"""Reading a SCIM Bulk answer (RFC 7644 §3.7.3): each operation's status, matched to the
change it carried, whatever form the server writes the status in."""

from __future__ import annotations

from typing import Any

from tools.lms.scim_bulk import MembershipChange, bulk_request, failures

ADD = MembershipChange("g1", "u1", add=True)
REMOVE = MembershipChange("g2", "u1", add=False)


def test_the_request_is_one_patch_per_group_in_order() -> None:
    body = bulk_request(
        [(ADD, ADD.patch('value eq "u1"')), (REMOVE, REMOVE.patch('value eq "u1"'))]
    )
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]
    assert [(op["method"], op["path"]) for op in body["Operations"]] == [
        ("PATCH", "/Groups/g1"),
        ("PATCH", "/Groups/g2"),
    ]
    assert body["Operations"][0]["data"]["Operations"] == [
        {"op": "add", "path": "members", "value": [{"value": "u1"}]}
    ]
    assert body["Operations"][1]["data"]["Operations"] == [
        {"op": "remove", "path": 'members[value eq "u1"]'}
    ]


def test_statuses_as_strings_ints_or_code_objects_all_read() -> None:
    answer = {"Operations": [{"status": "200"}, {"status": {"code": "204"}}]}
    assert failures(answer, [ADD, REMOVE]) == []
    assert failures({"Operations": [{"status": 200}, {"status": 200}]}, [ADD, REMOVE]) == []


def test_a_failed_operation_names_its_change_and_error() -> None:
    answer: dict[str, Any] = {
        "Operations": [
            {"status": "200"},
            {"status": "400", "response": {"scimType": "noTarget", "detail": "not a member"}},
        ]
    }
    (failed,) = failures(answer, [ADD, REMOVE]) or []
    assert failed.change == REMOVE and failed.status == 400
    assert failed.nothing_to_remove and not failed.retryable


def test_an_add_refused_for_no_target_is_not_taken_as_done() -> None:
    answer = {"Operations": [{"status": "400", "response": {"scimType": "noTarget"}}]}
    (failed,) = failures(answer, [ADD]) or []
    assert not failed.nothing_to_remove


def test_throttled_and_failing_operations_are_retryable() -> None:
    answer = {"Operations": [{"status": "429"}, {"status": "503"}]}
    assert [f.retryable for f in failures(answer, [ADD, REMOVE]) or []] == [True, True]


def test_an_answer_that_does_not_account_for_every_operation_is_unreadable() -> None:
    assert failures({"Operations": [{"status": "200"}]}, [ADD, REMOVE]) is None
    assert failures({"Operations": [{"status": "OK"}, {"status": "200"}]}, [ADD, REMOVE]) is None
    assert failures({"Operations": [{}, {"status": "200"}]}, [ADD, REMOVE]) is None
    assert failures(["not", "an", "object"], [ADD]) is None
    assert failures({"Operations": [{"status": True}]}, [ADD]) is None
