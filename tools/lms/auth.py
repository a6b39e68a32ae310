"""Credentials for the LMS's SCIM endpoint, as ``httpx.Auth`` flows.

Both flows plug into any ``httpx.Client``, so the connector's retry, timeout and transport
settings apply to the token request too (the token request is yielded through the same
client rather than sent by a second one).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import httpx

from tools.lms.errors import LMSRejected, LMSUnavailable

log = logging.getLogger(__name__)


class BearerToken(httpx.Auth):
    """A static token (RFC 6750), as most LMSs issue to a provisioning integration."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float | None  # monotonic clock; None = until the LMS refuses it


class ClientCredentials(httpx.Auth):
    """OAuth 2.0 client credentials grant (RFC 6749 §4.4) with a cached access token.

    The token is reused until shortly before it expires, and fetched again once when the LMS
    answers 401 anyway (revoked or rotated keys), so a long-running worker never needs a
    restart to pick up a new token. The client authenticates with HTTP Basic
    (``client_secret_basic``), which RFC 6749 §2.3.1 requires every server to support.
    """

    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        *,
        expiry_leeway_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token_url = token_url
        self._basic = httpx.BasicAuth(client_id, client_secret)
        self._scope = scope
        self._leeway = expiry_leeway_s
        self._clock = clock
        self._lock = threading.Lock()
        self._token: _Token | None = None
        self.fetches = 0  # how many tokens were obtained; lets tests and metrics see caching

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._cached()
        fresh = token is None
        if token is None:
            token = yield from self._fetch()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == httpx.codes.UNAUTHORIZED and not fresh:
            log.info("LMS refused the cached OAuth token; fetching a new one")
            self._forget(token)
            token = yield from self._fetch()
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def _cached(self) -> str | None:
        with self._lock:
            token = self._token
        if token is None:
            return None
        if token.expires_at is not None and self._clock() >= token.expires_at:
            return None
        return token.value

    def _forget(self, value: str) -> None:
        with self._lock:
            if self._token is not None and self._token.value == value:
                self._token = None

    def _fetch(self) -> Generator[httpx.Request, httpx.Response, str]:
        form = {"grant_type": "client_credentials"}
        if self._scope:
            form["scope"] = self._scope
        token_request = httpx.Request(
            "POST", self._token_url, data=form, headers={"Accept": "application/json"}
        )
        token_request = next(self._basic.auth_flow(token_request))
        started = self._clock()
        response = yield token_request
        token = self._parse(response, started)
        with self._lock:
            self._token = token
            self.fetches += 1
        log.info("obtained an OAuth access token for the LMS (status %s)", response.status_code)
        return token.value

    def _parse(self, response: httpx.Response, started: float) -> _Token:
        status = response.status_code
        if status == httpx.codes.TOO_MANY_REQUESTS or status >= 500:
            raise LMSUnavailable("OAuth token endpoint unavailable", status=status)
        body = _json_object(response)
        if status != httpx.codes.OK:
            error = body.get("error_description") or body.get("error")
            raise LMSRejected(
                "OAuth token endpoint refused the client credentials",
                status=status,
                detail=str(error) if error else None,
            )
        value = body.get("access_token")
        token_type = str(body.get("token_type", "")).lower()
        if not isinstance(value, str) or not value or token_type != "bearer":  # noqa: S105
            raise LMSRejected(
                "OAuth token endpoint answered without a bearer access_token", status=status
            )
        expires_in = body.get("expires_in")
        expires_at = None
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            lifetime = max(0.0, float(expires_in))
            # Short-lived tokens keep half their life rather than expiring on arrival.
            expires_at = started + lifetime - min(self._leeway, lifetime / 2)
        return _Token(value, expires_at)


def _json_object(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
