"""Real servers on ephemeral ports for the LMS connector tests: the SCIM sandbox (scim2-server
over HTTP) and a tiny OAuth 2.0 token endpoint."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
from sqlalchemy.engine import Engine

from core.catalog import Catalog, CatalogGroup, GroupKind
from core.db import make_engine
from core.schema import create_tables
from tests.conftest import _postgres_database
from tools.lms.sandbox import SandboxServer
from tools.lms.scim import ScimLMS

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


@pytest.fixture
def catalog() -> Catalog:
    return Catalog(
        version="t",
        groups=[
            CatalogGroup(id="all-staff", display_name="All staff", kind=GroupKind.everyone),
            CatalogGroup(id="dept-eng", display_name="Engineering", kind=GroupKind.department),
            CatalogGroup(id="loc-berlin", display_name="Berlin", kind=GroupKind.location),
            CatalogGroup(
                id="cur-security",
                display_name="Security awareness",
                kind=GroupKind.curriculum,
                due_days=30,
            ),
            CatalogGroup(
                id="prog-managers", display_name="People managers", kind=GroupKind.programme
            ),
        ],
    )


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database only (the tests that take it run on nothing else)."""
    yield from _postgres_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def twin_engines(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    """Two databases of one kind at head, SQLite or PostgreSQL: a differential test calls the
    single versions on one and the batched version on the other."""
    with ExitStack() as stack:
        engines: list[Engine] = []
        for name in ("single", "batch"):
            if request.param == "sqlite":
                url = f"sqlite:///{tmp_path}/{name}.db"
            else:
                url = stack.enter_context(contextmanager(_postgres_database)())
            engine = make_engine(url)
            stack.callback(engine.dispose)
            create_tables(engine)
            engines.append(engine)
        yield engines[0], engines[1]


class SandboxControl:
    """Talks to the sandbox's ``/_sandbox`` endpoints over HTTP, as a demo script would."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self._http = httpx.Client(base_url=server.root_url, timeout=5)

    def requests(self) -> dict[str, Any]:
        response = self._http.get("/_sandbox/requests")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def fault(
        self,
        status: int,
        count: int,
        retry_after: float | None = None,
        methods: Iterable[str] | None = None,
        templates: Iterable[str] | None = None,
    ) -> None:
        spec = {
            "status": status,
            "count": count,
            "retry_after": retry_after,
            "methods": list(methods) if methods is not None else None,
            "templates": list(templates) if templates is not None else None,
        }
        self._http.post("/_sandbox/faults", json=spec).raise_for_status()

    def user_count(self) -> int:
        response = self._http.get("/v2/Users", params={"count": 0})
        total: int = response.json()["totalResults"]
        return total

    def close(self) -> None:
        self._http.close()


@pytest.fixture
def start_sandbox(catalog: Catalog) -> Iterator[Callable[..., SandboxServer]]:
    with ExitStack() as stack:

        def start(
            token: str | None = None, groups: Catalog | None = None, preload: int = 0
        ) -> SandboxServer:
            return stack.enter_context(SandboxServer(groups or catalog, token, preload=preload))

        yield start


@pytest.fixture
def sandbox(start_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    return start_sandbox()


@pytest.fixture
def control(sandbox: SandboxServer) -> Iterator[SandboxControl]:
    ctl = SandboxControl(sandbox)
    yield ctl
    ctl.close()


@pytest.fixture
def make_lms() -> Iterator[Callable[..., ScimLMS]]:
    """Connectors with waits short enough for tests (Retry-After is still honoured)."""
    clients: list[ScimLMS] = []

    def make(base_url: str, **overrides: Any) -> ScimLMS:
        options: dict[str, Any] = {
            "timeout_s": 5.0,
            "max_retries": 3,
            "max_retry_after_s": 2.0,
            "backoff_base_s": 0.01,
            "backoff_max_s": 0.05,
        }
        options.update(overrides)
        client = ScimLMS(base_url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def lms(sandbox: SandboxServer, make_lms: Callable[..., ScimLMS]) -> ScimLMS:
    return make_lms(sandbox.base_url)


# --- OAuth 2.0 token endpoint ----------------------------------------------------------------


@dataclass
class TokenEndpoint:
    """Client credentials grant only; hands out ``tokens`` in order (the last one repeats)."""

    client_id: str
    client_secret: str
    tokens: list[str]
    expires_in: int = 3600
    issued: list[str] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        form = parse_qs(environ["wsgi.input"].read(length).decode())
        client = self._client(environ, form)
        if environ["REQUEST_METHOD"] != "POST" or form.get("grant_type") != ["client_credentials"]:
            return _json(start_response, "400 Bad Request", {"error": "unsupported_grant_type"})
        if client != (self.client_id, self.client_secret):
            return _json(start_response, "401 Unauthorized", {"error": "invalid_client"})
        with self._lock:
            token = self.tokens[min(len(self.issued), len(self.tokens) - 1)]
            self.issued.append(token)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}
        return _json(start_response, "200 OK", body)

    @staticmethod
    def _client(environ: WSGIEnvironment, form: dict[str, list[str]]) -> tuple[str, str]:
        scheme, _, encoded = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "basic":
            user, _, password = base64.b64decode(encoded).decode().partition(":")
            return user, password
        return form.get("client_id", [""])[0], form.get("client_secret", [""])[0]


def _json(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json")])
    return [payload]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def start_token_endpoint() -> Iterator[Callable[..., TokenEndpoint]]:
    servers: list[tuple[WSGIServer, threading.Thread]] = []

    def start(tokens: list[str], expires_in: int = 3600) -> TokenEndpoint:
        endpoint = TokenEndpoint("talentsync", "s3cret", tokens, expires_in)
        server = make_server("127.0.0.1", 0, endpoint, handler_class=_QuietHandler)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        servers.append((server, thread))
        endpoint.url = f"http://127.0.0.1:{server.server_port}/oauth/token"
        return endpoint

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
