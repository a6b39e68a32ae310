"""SCIM Bulk (RFC 7644 §3.7): the request body, and each operation's outcome read back.

SCIM keeps memberships on the groups, so a hire into six groups is six PATCHes to six
resources; one ``POST /Bulk`` carries them all, and a batch's user creates and updates
another. Each operation is the same request a single call would send, so an LMS applies
exactly the same changes either way, and a failed operation is reported by its own status,
turned by the connector into the error the single call gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tools.lms.retry import RETRYABLE_STATUSES

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass(frozen=True)
class MembershipChange:
    """Add ``user_id`` to, or remove it from, the LMS group ``group_id``."""

    group_id: str
    user_id: str
    add: bool

    def patch(self, filter_eq: str) -> dict[str, Any]:
        """The PatchOp operation; ``filter_eq`` is ``value eq "<user id>"``, quoted by the
        caller's one filter builder."""
        if self.add:
            return {"op": "add", "path": "members", "value": [{"value": self.user_id}]}
        return {"op": "remove", "path": f"members[{filter_eq}]"}


@dataclass(frozen=True)
class OperationFailure:
    change: MembershipChange
    status: int
    scim_type: str | None
    detail: str | None

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE_STATUSES

    @property
    def nothing_to_remove(self) -> bool:
        """Removing a non-member counts as done (RFC 7644 §3.5.2.2), as for a single PATCH."""
        return not self.change.add and self.scim_type == "noTarget"


@dataclass(frozen=True)
class OperationResult:
    """What the LMS answered for one operation of a bulk request."""

    status: int
    location: str | None  # the resource's URL (a created user's carries its new id)
    bulk_id: str | None
    scim_type: str | None
    detail: str | None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE_STATUSES


def bulk_body(operations: list[dict[str, Any]]) -> dict[str, Any]:
    """A BulkRequest of ``operations`` (each ``method``, ``path``, and ``bulkId``/``data``
    as it needs), run in order; no ``failOnErrors``, so one refusal stops nothing."""
    return {"schemas": [BULK_REQUEST], "Operations": operations}


def bulk_request(changes: list[tuple[MembershipChange, dict[str, Any]]]) -> dict[str, Any]:
    """The request body: one PATCH of ``/Groups/{id}`` per change, in order."""
    return bulk_body(
        [
            {
                "method": "PATCH",
                "path": f"/Groups/{change.group_id}",
                "data": {"schemas": [PATCH_OP], "Operations": [operation]},
            }
            for change, operation in changes
        ]
    )


def results(body: object, count: int) -> list[OperationResult] | None:
    """The outcome of each of the ``count`` operations sent, by position (RFC 7644 §3.7.3
    answers them in the order asked); ``None`` when the answer does not account for every
    operation (then nothing can be assumed)."""
    answered = body.get("Operations") if isinstance(body, dict) else None
    if not isinstance(answered, list) or len(answered) != count:
        return None
    read: list[OperationResult] = []
    for result in answered:
        status = _status(result)
        if status is None:
            return None
        assert isinstance(result, dict)  # a status was read from it
        response = result.get("response")
        error = response if isinstance(response, dict) and not 200 <= status < 300 else {}
        read.append(
            OperationResult(
                status=status,
                location=_text(result.get("location"), limit=2000),
                bulk_id=_text(result.get("bulkId"), limit=2000),
                scim_type=_text(error.get("scimType")),
                detail=_text(error.get("detail")),
            )
        )
    return read


def failures(body: object, changes: list[MembershipChange]) -> list[OperationFailure] | None:
    """The operations that did not succeed, matched to their changes by position; ``None``
    when the answer does not account for every operation (then nothing can be assumed)."""
    read = results(body, len(changes))
    if read is None:
        return None
    return [
        OperationFailure(
            change=change, status=result.status, scim_type=result.scim_type, detail=result.detail
        )
        for change, result in zip(changes, read, strict=True)
        if not result.ok
    ]


def _status(result: object) -> int | None:
    """RFC 7644 writes an operation's status as a string ("200"); some servers send ints."""
    raw = result.get("status") if isinstance(result, dict) else None
    if isinstance(raw, dict):  # RFC 7644 §3.7.3 example form: {"code": "200"}
        raw = raw.get("code")
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        return int(raw.strip())
    return None


def _text(value: object, *, limit: int = 200) -> str | None:
    return value[:limit] if isinstance(value, str) else None
