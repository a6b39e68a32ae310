"""In-request retries for LMS calls: brief, polite waits for blips, then hand back to the worker.

A request is retried here only for failures that usually pass within seconds (429, 502/503/504,
dropped connections, timeouts). Longer outages belong to the worker's own backoff and dead
letter, so a ``Retry-After`` longer than ``max_retry_after_s`` ends the attempt at once with
``LMSUnavailable`` carrying that delay instead of holding a worker thread hostage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_random_exponential

from tools.lms.errors import LMSError, LMSUnavailable

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)


class RetryableStatusError(Exception):
    """A response worth another attempt; raised so tenacity sees it like a network error."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"status {response.status_code}")
        self.status = response.status_code
        self.retry_after = parse_retry_after(response.headers.get("Retry-After"))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait per RFC 9110 §10.2.3: delay-seconds or an HTTP-date (past dates = 0)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _retry_after_of(state: RetryCallState) -> float | None:
    error = state.outcome.exception() if state.outcome is not None else None
    return error.retry_after if isinstance(error, RetryableStatusError) else None


class _RetryAfterTooLong(stop_base):
    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s

    def __call__(self, retry_state: RetryCallState) -> bool:
        retry_after = _retry_after_of(retry_state)
        return retry_after is not None and retry_after > self.limit_s


class _HonourRetryAfter(wait_base):
    """The server's Retry-After when it sent one, jittered exponential backoff otherwise."""

    def __init__(self, backoff: wait_base) -> None:
        self.backoff = backoff

    def __call__(self, retry_state: RetryCallState) -> float:
        retry_after = _retry_after_of(retry_state)
        return retry_after if retry_after is not None else self.backoff(retry_state)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0
    max_retry_after_s: float = 30.0

    def call(self, attempt: Callable[[], httpx.Response], label: str) -> httpx.Response:
        """Run ``attempt`` until it returns a response that is not worth retrying.

        ``attempt`` raises ``RetryableStatusError`` for 429/502/503/504. What is still failing
        when the retries run out becomes ``LMSUnavailable`` naming the last status and
        Retry-After, so the worker can reschedule the event.
        """
        retrying = Retrying(
            retry=retry_if_exception_type((RetryableStatusError, *RETRYABLE_ERRORS)),
            stop=stop_after_attempt(self.max_retries + 1)
            | _RetryAfterTooLong(self.max_retry_after_s),
            wait=_HonourRetryAfter(
                wait_random_exponential(multiplier=self.backoff_base_s, max=self.backoff_max_s)
            ),
            before_sleep=lambda state: _log_retry(state, label, self.max_retries),
            reraise=True,
        )
        try:
            return retrying(attempt)
        except RetryableStatusError as exc:
            raise LMSUnavailable(
                f"LMS {label} failed", status=exc.status, retry_after=exc.retry_after
            ) from None
        except RETRYABLE_ERRORS as exc:
            raise LMSUnavailable(f"LMS {label} failed: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            # Unsupported scheme, malformed request: a configuration mistake, not an outage.
            raise LMSError(f"LMS {label} could not be sent: {type(exc).__name__}") from exc


def _log_retry(state: RetryCallState, label: str, max_retries: int) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    reason = (
        f"status {error.status}"
        if isinstance(error, RetryableStatusError)
        else type(error).__name__
    )
    log.warning(
        "LMS %s: %s; retry %d of %d in %.2fs",
        label,
        reason,
        state.attempt_number,
        max_retries,
        state.upcoming_sleep,
    )
