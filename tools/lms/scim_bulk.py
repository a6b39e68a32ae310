"""SCIM Bulk (RFC 7644 §3.7) for group membership changes.

SCIM keeps memberships on the groups, so a hire into six groups is six PATCHes to six
resources; one ``POST /Bulk`` carries them all. Each operation is the same PatchOp a single
PATCH would send, so an LMS applies exactly the same changes either way, and a failed
operation is reported by its own status, turned here into the error a single PATCH gives.
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


def bulk_request(changes: list[tuple[MembershipChange, dict[str, Any]]]) -> dict[str, Any]:
    """The request body: one PATCH of ``/Groups/{id}`` per change, in order."""
    return {
        "schemas": [BULK_REQUEST],
        "Operations": [
            {
                "method": "PATCH",
                "path": f"/Groups/{change.group_id}",
                "data": {"schemas": [PATCH_OP], "Operations": [operation]},
            }
            for change, operation in changes
        ],
    }


def failures(body: object, changes: list[MembershipChange]) -> list[OperationFailure] | None:
    """The operations that did not succeed, matched to their changes by position; ``None``
    when the answer does not account for every operation (then nothing can be assumed)."""
    results = body.get("Operations") if isinstance(body, dict) else None
    if not isinstance(results, list) or len(results) != len(changes):
        return None
    failed: list[OperationFailure] = []
    for change, result in zip(changes, results, strict=True):
        status = _status(result)
        if status is None:
            return None
        if 200 <= status < 300:
            continue
        response = result.get("response") if isinstance(result, dict) else None
        error = response if isinstance(response, dict) else {}
        failed.append(
            OperationFailure(
                change=change,
                status=status,
                scim_type=_text(error.get("scimType")),
                detail=_text(error.get("detail")),
            )
        )
    return failed


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


def _text(value: object) -> str | None:
    return value[:200] if isinstance(value, str) else None
