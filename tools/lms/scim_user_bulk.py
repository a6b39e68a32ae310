"""A batch's user writes as ``POST /Bulk`` operations (RFC 7644 §3.7), and each write's
result read back from the operations' outcomes.

Each operation is the request ``ScimLMS.write_user`` would send on its own, so the LMS
applies the same changes either way, and each write ends as the single call would: its
account, or the error the single call raises, built from the operation's own status. A
create refused with 409 is settled the single call's way too (``existing_or_conflict``),
once the connector has read the accounts those creates ran into.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from core.employee import Employee
from tools.lms.errors import LMSConflict, LMSError, LMSUnavailable, error_for_status
from tools.lms.models import LMSAccount, UserWrite
from tools.lms.scim_bulk import OperationResult, bulk_body, results
from tools.lms.scim_mapping import UserRequest, to_lms_user

log = logging.getLogger(__name__)

UserResult = LMSAccount | LMSError | None


class WrittenUsers(list[UserResult]):
    """One result per write, in order; ``writes`` holds how many writes the LMS took for
    each (a create that found its user already there took none), for its audit."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[int] = []


def existing_or_conflict(
    employee: Employee, conflict: LMSConflict, existing: LMSAccount | None
) -> LMSAccount:
    """A create refused with 409 is done when the LMS holds a user with the employee's
    externalId (a retry after a lost answer, a concurrent worker): that is ``existing``,
    read after the refusal. Else another user holds its userName: ``LMSConflict``."""
    if existing is None:
        raise LMSConflict(
            "LMS refused the user: its userName or another unique attribute is "
            "held by a user with a different externalId",
            status=conflict.status,
            scim_type=conflict.scim_type,
            detail=conflict.detail,
        ) from conflict
    log.info("LMS user %s already existed; create treated as done", existing.user.id)
    return existing


@dataclass(frozen=True)
class _Operation:
    position: int  # of its write
    request: UserRequest
    entry: dict[str, Any]  # as sent in the bulk


class UserBulk:
    """The operations of ``writes`` (``planned`` by ``scim_mapping.user_requests``), sent
    in chunks by the connector, and the writes' results as the chunks' answers arrive."""

    def __init__(self, writes: Sequence[UserWrite], planned: Sequence[list[UserRequest] | None]):
        self._writes = writes
        self._operations = [
            _Operation(position, request, request.bulk_operation(f"user-{position}"))
            for position, requests in enumerate(planned)
            for request in requests or []
        ]
        # what a write with nothing to send ends as; operations' outcomes overwrite it
        self._results: list[UserResult] = [write.account for write in writes]
        self._writes_taken = [0] * len(writes)
        self._refused: dict[int, LMSConflict] = {}  # creates refused with 409, by position

    def chunks(self, max_operations: int, max_payload: int | None) -> Iterator[range]:
        """The operations (by index), in order, in bulks of at most ``max_operations`` and
        ``max_payload`` bytes (one operation alone is sent even when larger: the LMS then
        refuses it, as it would its single request)."""
        overhead = len(json.dumps(bulk_body([])))
        room = max_payload if max_payload is not None else -1
        start, size = 0, overhead
        for index, operation in enumerate(self._operations):
            length = len(json.dumps(operation.entry)) + 2 if room >= 0 else 0
            too_big = room >= 0 and size + length > room
            if index > start and (index - start >= max_operations or too_big):
                yield range(start, index)
                start, size = index, overhead
            size += length
        if start < len(self._operations):
            yield range(start, len(self._operations))

    def body(self, chunk: range) -> dict[str, Any]:
        return bulk_body([self._operations[index].entry for index in chunk])

    def record(self, chunk: range, answer: object) -> int:
        """Take in one bulk's answer; returns the operations the LMS accepted."""
        read = results(answer, len(chunk))
        if read is None:
            raise LMSError("LMS answered POST /Bulk without a status for every operation")
        sent = [self._operations[index] for index in chunk]
        for operation, result in zip(sent, read, strict=True):
            bulk_id = operation.entry.get("bulkId")
            if bulk_id is not None and result.bulk_id not in (None, bulk_id):
                raise LMSError("LMS answered POST /Bulk with its operations out of order")
        accepted = 0
        for operation, result in zip(sent, read, strict=True):
            if result.ok:
                accepted += 1
                self._writes_taken[operation.position] += 1
                if operation.request.method == "POST":
                    self._results[operation.position] = self._created(operation, result)
            else:
                self._refuse(operation, result)
        return accepted

    def refused_creates(self) -> list[Employee]:
        """The employees whose create was refused with 409, to be read (in ``resolve``'s
        order)."""
        return [self._writes[position].employee for position in self._refused]

    def resolve(self, found: Sequence[UserResult]) -> None:
        """Settle the refused creates with what reading their external ids found."""
        for (position, conflict), existing in zip(self._refused.items(), found, strict=True):
            if isinstance(existing, LMSError):
                self._results[position] = existing
                continue
            employee = self._writes[position].employee
            try:
                self._results[position] = existing_or_conflict(employee, conflict, existing)
            except LMSConflict as error:
                self._results[position] = error
        self._refused.clear()

    def results(self) -> WrittenUsers:
        written = WrittenUsers()
        written.extend(self._results)
        written.writes.extend(self._writes_taken)
        return written

    def _created(self, operation: _Operation, result: OperationResult) -> UserResult:
        """A created user, as the LMS holds it: what was sent, under the id its location
        names (a bulk answer carries no resource)."""
        user_id = (result.location or "").rstrip("/").rpartition("/")[2]
        if not user_id:
            return LMSError("LMS created a user in POST /Bulk but answered no location for it")
        assert operation.request.created is not None  # every POST carries its user
        user = to_lms_user(operation.request.created)
        return LMSAccount(user=replace(user, id=user_id), group_ids=frozenset())

    def _refuse(self, operation: _Operation, result: OperationResult) -> None:
        """The error the single request would raise, for its write (its first one)."""
        label = f"{operation.request.method} {operation.request.path} (in POST /Bulk)"
        error: LMSError
        if result.retryable:  # the single request's retries are the worker's here
            error = LMSUnavailable(f"LMS failed {label}", status=result.status)
        else:
            error = error_for_status(label, result.status, result.scim_type, result.detail)
        if isinstance(self._results[operation.position], LMSError):
            return
        if operation.request.method == "POST" and isinstance(error, LMSConflict):
            self._refused[operation.position] = error
        self._results[operation.position] = error
