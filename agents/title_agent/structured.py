"""Which structured-output method to ask a server for, and when to give one up.

Servers differ: llama.cpp's refuses ``response_format: json_schema`` with HTTP 500, some
ignore ``tools`` unless one is forced. A refusal of the *method* is not an outage, so it
must not be retried as transient and rescheduled forever: the ladder steps down to a method
that asks less of the server (json_schema -> function_calling -> json_mode), remembers the
step for every later title, and when nothing is left the title fails once, clearly.
"""

from __future__ import annotations

import logging
import threading
from typing import Literal

import openai

log = logging.getLogger(__name__)

StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]
STRUCTURED_METHODS: tuple[StructuredMethod, ...] = ("json_schema", "function_calling", "json_mode")

_NOT_ABOUT_THE_METHOD = frozenset({401, 403, 408, 409, 429, 502, 503, 504})
"""Statuses about who asks or when (a key, an outage, a rate limit), never about how the
answer was asked for: changing method would not help."""


class StructuredOutputUnsupportedError(RuntimeError):
    """Every structured-output method was refused by the server: fail once, not retry."""

    def __init__(self, refused: dict[str, int]) -> None:
        tried = ", ".join(f"{method} (HTTP {status})" for method, status in refused.items())
        super().__init__(f"the server refused every structured-output method: {tried}")
        self.refused = dict(refused)


def refuses_method(error: openai.APIStatusError) -> bool:
    """True when the server rejected how the answer was asked for, not the request's size
    nor its own availability."""
    if error.status_code in _NOT_ABOUT_THE_METHOD:
        return False
    return not is_context_overflow(error)


def is_context_overflow(error: openai.APIStatusError) -> bool:
    body = error.body if isinstance(error.body, dict) else {}
    code = str(body.get("code") or (body.get("error") or {}).get("code") or "")
    return "context_length" in code or "context length" in str(error.message).lower()


class StructuredLadder:
    """The methods still worth asking this server for, best first. One per mapper: shared by
    the titles it maps (and by worker threads, hence the lock)."""

    def __init__(self, first: StructuredMethod) -> None:
        self._methods = list(STRUCTURED_METHODS[STRUCTURED_METHODS.index(first) :])
        self._lock = threading.Lock()
        self.refused: dict[str, int] = {}

    @property
    def current(self) -> StructuredMethod | None:
        with self._lock:
            return self._methods[0] if self._methods else None

    def refuse(self, method: StructuredMethod, status: int) -> StructuredMethod | None:
        """Give up ``method`` (if another title has not already) and name the next one."""
        with self._lock:
            if method in self._methods:
                self._methods.remove(method)
                self.refused[method] = status
                log.warning(
                    "the LLM server refused structured output %s (HTTP %s); now using %s",
                    method,
                    status,
                    self._methods[0] if self._methods else "nothing",
                )
            return self._methods[0] if self._methods else None
