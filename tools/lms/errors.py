"""How an LMS call failed, split by what the caller should do next.

The worker reschedules an event on ``LMSUnavailable`` (the LMS may recover on its own) and
dead-letters it on ``LMSRejected`` (retrying the same request can never succeed), so every
failure of a connector must land in exactly one of the two.
"""

from __future__ import annotations


class LMSError(Exception):
    """Any failure talking to the LMS, including an answer we could not make sense of."""


class LMSUnavailable(LMSError):  # noqa: N818 - the name callers branch on
    """A transient failure: network error, 429 or 5xx, after in-request retries ran out.

    ``retry_after`` is the delay the LMS asked for (seconds), so the worker reschedules no
    earlier than that.
    """

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        details = [message]
        if status is not None:
            details.append(f"last status {status}")
        if retry_after is not None:
            details.append(f"Retry-After {retry_after:g}s")
        super().__init__("; ".join(details))


class LMSRejected(LMSError):  # noqa: N818 - the name callers branch on
    """A permanent refusal (4xx): the same request will fail again until someone fixes
    the data, the configuration or the credentials."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        scim_type: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.status = status
        self.scim_type = scim_type
        self.detail = detail
        parts = [f"{message}: {status}"]
        if scim_type:
            parts.append(f"scimType={scim_type}")
        if detail:
            parts.append(detail)
        super().__init__(" ".join(parts))


class LMSConflict(LMSRejected):
    """A 409 the connector could not resolve by itself (e.g. a userName another LMS user
    already holds). Idempotent create resolves the common case before this is raised."""


def error_for_status(
    label: str, status: int, scim_type: str | None, detail: str | None
) -> LMSError:
    """The error a request answered ``status`` raises (a bulk operation's too)."""
    if status in (401, 403):
        return LMSRejected(
            f"LMS refused the credentials for {label}",
            status=status,
            scim_type=scim_type,
            detail=detail,
        )
    if status == 409:
        return LMSConflict(
            f"LMS conflict on {label}", status=status, scim_type=scim_type, detail=detail
        )
    if 400 <= status < 500:
        return LMSRejected(
            f"LMS refused {label}", status=status, scim_type=scim_type, detail=detail
        )
    if status >= 500:
        return LMSUnavailable(f"LMS failed {label}", status=status)
    return LMSError(f"LMS answered {label} with unexpected status {status}")
