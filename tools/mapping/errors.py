"""Mapping failures the worker must tell apart."""

from __future__ import annotations


class LLMUnavailableError(RuntimeError):
    """The model endpoint timed out, rate-limited or failed after the client's retries.

    Transient: the worker reschedules the event with backoff, exactly like an LMS outage,
    instead of sending every title of an outage to human review.

    ``kind`` (timeout, rate_limited, unavailable) and ``usage`` (the calls and tokens spent
    on this title before it failed) let an eval count the failure instead of losing it."""

    def __init__(
        self, message: str, *, kind: str = "unavailable", usage: dict[str, int] | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.usage = dict(usage or {})
