"""Why a webhook delivery was refused, in a shape the API turns into a precise 4xx."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    """One reason a payload is invalid; ``field`` is a dotted path into the request body."""

    field: str
    reason: str


@dataclass
class IntakeError(Exception):
    """A delivery we refuse. ``status`` is the HTTP status the sender should see."""

    status: int
    title: str
    detail: str
    errors: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"


def unauthorized(detail: str) -> IntakeError:
    return IntakeError(401, "Invalid signature", detail)


def bad_timestamp(header: str, reason: str) -> IntakeError:
    return IntakeError(400, "Timestamp out of tolerance", reason, [FieldError(header, reason)])


def malformed_header(header: str, reason: str) -> IntakeError:
    """A header we cannot read at all: 400 rather than 401, because the key may well be
    right; judged before the signature, so ``reason`` must show the value only through
    ``core.untrusted.shown``."""
    return IntakeError(400, "Malformed header", f"{header}: {reason}", [FieldError(header, reason)])


def invalid_payload(errors: list[FieldError]) -> IntakeError:
    fields = ", ".join(f"{e.field}: {e.reason}" for e in errors)
    return IntakeError(422, "Invalid payload", fields, errors)


@dataclass
class HRISFetchError(Exception):
    """Reading a record from an HRIS failed.

    ``transient`` tells the worker whether to retry later (5xx, 429, network) or to
    dead-letter at once (404, 401, a record we cannot map): retrying a permanent failure
    only burns attempts and API quota.
    """

    detail: str
    transient: bool
    status_code: int | None = None

    def __str__(self) -> str:
        kind = "transient" if self.transient else "permanent"
        code = f" (HTTP {self.status_code})" if self.status_code is not None else ""
        return f"{kind} HRIS fetch error{code}: {self.detail}"
