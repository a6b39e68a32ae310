"""LMS requests as Prometheus samples, through httpx event hooks on the connector's client.

Hooks see every request the client sends, retries and OAuth token requests included, and
leave the transport (pool limits, keep-alive) to whoever configures the client. The time
is to the response headers: the hook runs before the body is read, which for SCIM's small
JSON answers is nearly all of it. A request that gets no response (connection refused,
timeout) has no sample here; it shows as a retried or dead event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.metrics import LMS_REQUEST_DURATION

_STARTED = "talentsync_started"
RESOURCES = frozenset({"Users", "Groups", "Bulk", "ServiceProviderConfig"})


def resource_of(path: str, base_path: str) -> str:
    """The SCIM resource a path addresses (``/v2/Users/abc`` -> ``Users``), or ``other``:
    a bounded label, never an id."""
    rest = path[len(base_path) :] if path.startswith(base_path) else ""
    first = rest.lstrip("/").split("/", 1)[0]
    return first if first in RESOURCES else "other"


def lms_request_hooks(base_url: str) -> dict[str, list[Callable[[Any], Any]]]:
    """``event_hooks`` for an ``httpx.Client`` talking to the LMS at ``base_url``."""
    base_path = urlsplit(base_url).path.rstrip("/")

    def started(request: httpx.Request) -> None:
        request.extensions[_STARTED] = time.perf_counter()

    def answered(response: httpx.Response) -> None:
        request = response.request
        began = request.extensions.get(_STARTED)
        if began is None:
            return
        LMS_REQUEST_DURATION.labels(
            method=request.method,
            resource=resource_of(request.url.path, base_path),
            status=str(response.status_code),
        ).observe(time.perf_counter() - began)

    return {"request": [started], "response": [answered]}
