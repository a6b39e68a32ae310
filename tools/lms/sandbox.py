"""The bundled LMS sandbox: a real SCIM 2.0 server (scim2-server) preloaded with the
catalog's groups, and optionally with a customer's existing workforce, so the demo, the
integration tests and the benchmarks run offline against the same protocol a customer's LMS
speaks, at a customer's size.

It holds 100,000 users with full group memberships and still answers each request the
provisioning client sends in a few milliseconds: members live in an index beside the groups
(``sandbox_storage``), member PATCHes touch only that index (``sandbox_handler``), and the
server keeps connections alive over HTTP/1.1 (``sandbox_http``). The requests a provisioning
event makes (lookup by externalId, member PATCHes, their POST /Bulk) are answered by a fast
lane (``sandbox_fast``) with exactly the generic path's answers for a fraction of its CPU, so
the sandbox costs a few milliseconds of CPU per event beside the service it stands in for.
Users are answered with their ``groups`` (RFC 7643 §4.1.2), and ``/ServiceProviderConfig``
advertises bulk (RFC 7644 §3.7: ``maxOperations`` 1000, ``maxPayloadSize`` 1 MiB).

Sandbox-only endpoints live under ``/_sandbox/`` (outside ``/v2``, so no SCIM client can
reach them by accident):

- ``GET /_sandbox/requests`` tells what reached the LMS, so tests can assert "exactly one
  write" instead of trusting the client's own account; ``DELETE`` clears the log.
  A ``POST /v2/Bulk`` counts as one request and one write (``POST /Bulk``), as it is one
  HTTP exchange; its entry in ``write_log`` lists its operations (method, path template,
  status), and ``bulk_operations`` counts the accepted ones by ``METHOD /template``.
  ``connections`` counts the TCP connections accepted (keep-alive reuses one).
- ``POST /_sandbox/faults`` makes the next N matching ``/v2`` requests fail with 429/5xx
  (match on ``methods`` and/or path ``templates`` such as ``/Bulk``), so retry behaviour is
  tested over real HTTP; a faulted bulk request runs none of its operations. ``DELETE``
  clears pending faults.
- ``PUT /_sandbox/latency`` slows every ``/v2`` request down, like a loaded LMS.

``SandboxServer(..., or_filters=False)`` (or ``app.or_filters = False``) makes it an LMS
whose filters take no ``or`` (RFC 7644 leaves the operators a server supports to it): a
search with one is answered 400 ``invalidFilter``, as scim2-server answers a filter it
cannot read.
"""

from __future__ import annotations

import gc
import json
import logging
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from http import HTTPStatus
from io import BytesIO
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scim2_models import Error, ScimProvider
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

from core.catalog import Catalog
from tools.lms.sandbox_fast import FastLane
from tools.lms.sandbox_handler import SandboxHandler
from tools.lms.sandbox_http import KeepAliveWSGIServer, make_keep_alive_server
from tools.lms.sandbox_service import SandboxService
from tools.lms.sandbox_storage import SandboxStorage
from tools.lms.sandbox_workforce import workforce

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

SCIM_PREFIX = "/v2"
SANDBOX_PREFIX = "/_sandbox"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RESOURCE_ENDPOINTS = frozenset({"Users", "Groups"})
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_OR_OPERATOR = re.compile(r"(?i)\bor\b")


class FaultSpec(BaseModel):
    """One injected failure, as posted to ``/_sandbox/faults``."""

    model_config = ConfigDict(extra="forbid")

    status: int = Field(ge=400, le=599)
    count: int = Field(1, ge=1)
    retry_after: float | None = Field(None, ge=0)
    methods: list[str] | None = None
    templates: list[str] | None = Field(
        None, description="Path templates to fail, e.g. /Bulk or /Groups/{id}; all if None."
    )

    def matches(self, method: str, template: str) -> bool:
        method_ok = self.methods is None or method.upper() in {m.upper() for m in self.methods}
        return method_ok and (self.templates is None or template in self.templates)


class LatencySpec(BaseModel):
    """``PUT /_sandbox/latency``: every later ``/v2`` request waits this long first."""

    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(ge=0, le=10)


@dataclass(frozen=True)
class RecordedOperation:
    """One operation of a bulk request; ``status`` is None when it did not run (faulted)."""

    method: str
    template: str
    status: int | None


@dataclass(frozen=True)
class RecordedWrite:
    method: str
    path: str
    template: str
    status: int
    time: float
    faulted: bool
    operations: tuple[RecordedOperation, ...] = ()


def path_template(path: str) -> str:
    """``/v2/Users/4f2a...`` -> ``/Users/{id}``: counts must not depend on generated ids."""
    relative = path.removeprefix(SCIM_PREFIX)
    segments = relative.strip("/").split("/")
    if len(segments) >= 2 and segments[0] in RESOURCE_ENDPOINTS:
        segments[1] = "{id}"
    return "/" + "/".join(segments)


class RequestLog:
    """What reached the LMS; shared by the middleware's request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._methods: Counter[str] = Counter()
        self._writes: list[RecordedWrite] = []
        self._faults_served = 0
        self._connections = 0

    def record(
        self,
        method: str,
        path: str,
        status: int,
        *,
        faulted: bool,
        operations: tuple[RecordedOperation, ...] = (),
    ) -> None:
        with self._lock:
            self._methods[method] += 1
            self._faults_served += faulted
            if method in WRITE_METHODS:
                self._writes.append(
                    RecordedWrite(
                        method, path, path_template(path), status, time.time(), faulted, operations
                    )
                )

    def note_connection(self) -> None:
        with self._lock:
            self._connections += 1

    def snapshot(self) -> dict[str, Any]:
        """``writes`` counts only writes the storage accepted (2xx), keyed ``METHOD /template``;
        ``bulk_operations`` the accepted operations inside them; ``changes`` both together
        (a ``/Bulk`` by its operations), so "each group written once" reads the same whether
        a client sends one PATCH per group or one bulk; ``write_log`` holds every write
        attempt, refused and faulted ones included."""
        with self._lock:
            accepted = Counter(
                f"{w.method} {w.template}"
                for w in self._writes
                if not w.faulted and 200 <= w.status < 300
            )
            bulk_accepted = Counter(
                f"{op.method} {op.template}"
                for w in self._writes
                if not w.faulted
                for op in w.operations
                if op.status is not None and 200 <= op.status < 300
            )
            changes = Counter({k: n for k, n in accepted.items() if k != "POST /Bulk"})
            changes.update(bulk_accepted)
            return {
                "requests": dict(self._methods),
                "writes": dict(accepted),
                "bulk_operations": dict(bulk_accepted),
                "changes": dict(changes),
                "faults_served": self._faults_served,
                "connections": self._connections,
                "write_log": [asdict(w) for w in self._writes],
            }

    def clear(self) -> None:
        with self._lock:
            self._methods.clear()
            self._writes.clear()
            self._faults_served = 0
            self._connections = 0


@dataclass
class _PendingFault:
    spec: FaultSpec
    remaining: int


class FaultQueue:
    """Pending injected failures, consumed in the order they were posted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[_PendingFault] = []

    def add(self, spec: FaultSpec) -> None:
        with self._lock:
            self._pending.append(_PendingFault(spec, spec.count))

    def take(self, method: str, template: str) -> FaultSpec | None:
        with self._lock:
            for entry in self._pending:
                if entry.spec.matches(method, template):
                    entry.remaining -= 1
                    if entry.remaining == 0:
                        self._pending.remove(entry)
                    return entry.spec
            return None

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()


def _json_response(
    start_response: StartResponse,
    status: int,
    body: object,
    *,
    content_type: str = "application/json",
    headers: Iterable[tuple[str, str]] = (),
) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", content_type), ("Content-Length", str(len(payload))), *headers],
    )
    return [payload]


class SandboxApp:
    """WSGI middleware: serves ``/_sandbox/*`` itself, injects faults into ``/v2`` requests
    and records what the SCIM application answered."""

    def __init__(
        self, scim_app: WSGIApplication, storage: SandboxStorage, fast_lane: FastLane | None = None
    ) -> None:
        self.scim_app = scim_app
        self.storage = storage
        self.fast_lane = fast_lane  # None: every request takes scim2-server's generic path
        self.requests = RequestLog()
        self.faults = FaultQueue()
        self.latency_s = 0.0  # a slow LMS, so crash tests can kill a worker mid-run
        self.or_filters = True  # False: an LMS whose filters take no ``or``

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "") or "/"
        method: str = environ["REQUEST_METHOD"].upper()
        if path == SANDBOX_PREFIX or path.startswith(SANDBOX_PREFIX + "/"):
            return self._sandbox(method, path.removeprefix(SANDBOX_PREFIX), environ, start_response)
        if not (path == SCIM_PREFIX or path.startswith(SCIM_PREFIX + "/")):
            return self.scim_app(environ, start_response)

        if self.latency_s:
            time.sleep(self.latency_s)
        template = path_template(path)
        bulk = method == "POST" and template == "/Bulk"
        raw, asked = _bulk_operations(environ) if bulk else (None, ())
        fault = self.faults.take(method, template)
        if fault is not None:
            self.requests.record(method, path, fault.status, faulted=True, operations=asked)
            return self._fault_response(fault, start_response)

        if not self.or_filters and method == "GET" and _has_or(environ):
            self.requests.record(method, path, 400, faulted=False)
            error = Error(
                status=400, scim_type="invalidFilter", detail="or is not supported by this LMS"
            )
            return _json_response(
                start_response, 400, error.model_dump(), content_type="application/scim+json"
            )

        fast = self.fast_lane.answer(environ, method, path, raw) if self.fast_lane else None
        if fast is not None:
            status, headers, payload = fast
            start_response(f"{status} {HTTPStatus(status).phrase}", headers)
            outcomes = _bulk_outcomes(asked, payload) if bulk else ()
            self.requests.record(method, path, status, faulted=False, operations=outcomes)
            return [payload]

        seen: list[int] = []

        def recording_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            seen.append(int(status.split(" ", 1)[0]))
            return start_response(status, headers, exc_info)

        body = self.scim_app(environ, recording_start_response)
        status = seen[-1] if seen else 500
        if not bulk:
            self.requests.record(method, path, status, faulted=False)
            return body
        answer = b"".join(body)
        self.requests.record(
            method, path, status, faulted=False, operations=_bulk_outcomes(asked, answer)
        )
        return [answer]

    @staticmethod
    def _fault_response(fault: FaultSpec, start_response: StartResponse) -> list[bytes]:
        error = Error(status=fault.status, detail="Injected by the LMS sandbox")
        headers = []
        if fault.retry_after is not None:
            headers.append(("Retry-After", f"{fault.retry_after:g}"))
        return _json_response(
            start_response,
            fault.status,
            error.model_dump(),
            content_type="application/scim+json",
            headers=headers,
        )

    def _sandbox(
        self, method: str, path: str, environ: WSGIEnvironment, start_response: StartResponse
    ) -> list[bytes]:
        if path == "/requests" and method == "GET":
            return _json_response(start_response, 200, self.requests.snapshot())
        if path == "/requests" and method == "DELETE":
            self.requests.clear()
            return _json_response(start_response, 200, {"cleared": True})
        if path == "/faults" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            try:
                spec = FaultSpec.model_validate_json(raw or b"{}")
            except ValidationError as exc:
                errors = json.loads(exc.json(include_url=False, include_input=False))
                return _json_response(start_response, 400, {"errors": errors})
            self.faults.add(spec)
            return _json_response(start_response, 201, spec.model_dump())
        if path == "/latency" and method == "PUT":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                latency = LatencySpec.model_validate_json(environ["wsgi.input"].read(length))
            except ValidationError as exc:
                errors = json.loads(exc.json(include_url=False, include_input=False))
                return _json_response(start_response, 400, {"errors": errors})
            self.latency_s = latency.seconds
            return _json_response(start_response, 200, latency.model_dump())
        if path == "/faults" and method == "DELETE":
            self.faults.clear()
            return _json_response(start_response, 200, {"cleared": True})
        return _json_response(start_response, 404, {"detail": f"no sandbox endpoint {path}"})


def _has_or(environ: WSGIEnvironment) -> bool:
    """Whether a search's filter uses ``or`` (outside its string literals)."""
    query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    return any(
        key == "filter" and _OR_OPERATOR.search(_QUOTED.sub('""', value)) for key, value in query
    )


def _bulk_operations(environ: WSGIEnvironment) -> tuple[bytes, tuple[RecordedOperation, ...]]:
    """A bulk request's body and the operations it asks for (the body is put back for the
    SCIM application); an unreadable body lists none and is the application's to refuse."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = BytesIO(raw)
    try:
        operations = json.loads(raw).get("Operations") or []
        return raw, tuple(
            RecordedOperation(
                str(op.get("method", "")).upper(), path_template(str(op.get("path", ""))), None
            )
            for op in operations
            if isinstance(op, dict)
        )
    except (ValueError, AttributeError):
        return raw, ()


def _bulk_outcomes(
    asked: tuple[RecordedOperation, ...], answer: bytes
) -> tuple[RecordedOperation, ...]:
    """The asked operations with the statuses the bulk response gives them, in order."""
    try:
        outcomes = json.loads(answer).get("Operations") or []
    except (ValueError, AttributeError):
        return asked
    statuses = [
        int(o["status"]) if isinstance(o, dict) and "status" in o else None for o in outcomes
    ]
    return tuple(
        RecordedOperation(op.method, op.template, statuses[i] if i < len(statuses) else None)
        for i, op in enumerate(asked)
    )


def build_sandbox_app(
    catalog: Catalog,
    token: str | None,
    *,
    preload: int = 0,
    fast_lane: bool = True,
    or_filters: bool = True,
) -> SandboxApp:
    """A fresh in-memory LMS holding one group per catalog entry, and ``preload`` users
    placed in them by the catalog's rules (``sandbox_workforce``).

    Without ``token`` every request is accepted, as the demo needs no credentials.
    Without ``fast_lane`` every request takes scim2-server's generic path (``sandbox_fast``
    answers the provisioning client's hot requests the same way, for less CPU); tests
    compare the two. Without ``or_filters`` a search filter using ``or`` is refused.
    """
    config = load_default_service_provider_config()
    if token is not None:
        config.authentication_schemes = [
            *(config.authentication_schemes or []),
            BEARER_TOKEN_SCHEME,
        ]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    # One process serves every cursor the sandbox issues, so a throwaway secret is enough.
    storage = SandboxStorage()
    service = SandboxService(
        provider,
        secret=secrets.token_urlsafe(32),
        user_dumps=storage.user_dumps if fast_lane else None,
    )
    group_type = service.get_resource_type("Group")
    group_model = service.get_model(group_type)
    for group in catalog.groups:
        # The provider composes its own Group class; stored resources must be of that class.
        resource = group_model.model_validate(
            {"displayName": group.display_name, "externalId": group.id}
        )
        storage.create(group_type, resource)
    if preload:
        user_type = service.get_resource_type("User")
        # Millions of long-lived objects: the collector would re-scan the growing heap while
        # they are made (the preload's time grows with its square), and then on every full
        # collection (a 100 ms pause mid-request). Frozen, they are never freed.
        gc.disable()
        try:
            storage.preload(user_type, service.get_model(user_type), workforce(catalog, preload))
        finally:
            gc.enable()
        gc.freeze()
    scim_app = BearerTokenApplication(
        storage, provider, service=service, bearer_tokens=[token] if token else []
    )
    scim_app.handler = SandboxHandler(service, storage)
    fast = FastLane(service, storage, scim_app.bearer_tokens) if fast_lane else None
    app = SandboxApp(scim_app, storage, fast)
    app.or_filters = or_filters
    return app


def _make_server(host: str, port: int, app: SandboxApp) -> KeepAliveWSGIServer:
    return make_keep_alive_server(host, port, app, on_connection=app.requests.note_connection)


def serve_sandbox(
    host: str,
    port: int,
    catalog: Catalog,
    token: str | None,
    ready: threading.Event | None = None,
    *,
    preload: int = 0,
) -> None:
    """Serve the sandbox until interrupted (what ``talentsync lms-sandbox`` runs)."""
    app = build_sandbox_app(catalog, token, preload=preload)
    with _make_server(host, port, app) as server:
        log.info(
            "LMS sandbox serving SCIM on http://%s:%s%s", host, server.server_port, SCIM_PREFIX
        )
        if ready is not None:
            ready.set()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            log.info("LMS sandbox stopped")


class SandboxServer:
    """The sandbox on an ephemeral port in a background thread, for tests, benches and the
    demo; ``preload`` users (``PRE-000001``...) are in the LMS before it starts.

    >>> with SandboxServer(catalog, preload=100_000) as lms:
    ...     ScimLMS(lms.base_url, ...)
    """

    def __init__(
        self,
        catalog: Catalog,
        token: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        preload: int = 0,
        fast_lane: bool = True,
        or_filters: bool = True,
    ) -> None:
        self.app = build_sandbox_app(
            catalog, token, preload=preload, fast_lane=fast_lane, or_filters=or_filters
        )
        self._froze_objects = preload > 0
        self._host = host
        self._port = port
        self._server: KeepAliveWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def root_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running")
        return f"http://{self._host}:{self._server.server_port}"

    @property
    def base_url(self) -> str:
        return self.root_url + SCIM_PREFIX

    def start(self) -> SandboxServer:
        self._server = _make_server(self._host, self._port, self.app)
        # A short poll keeps shutdown (every test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="lms-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._froze_objects:
            # The preload froze every object of the process; let the collector see them
            # again, so a test session does not keep each stopped sandbox's users.
            gc.unfreeze()
            self._froze_objects = False
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
