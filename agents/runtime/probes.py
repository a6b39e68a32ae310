"""The small HTTP server of a `talentsync worker` process: ``/metrics`` for Prometheus and
``/livez`` for its supervisor, on ``--metrics-port``.

A worker process serves no API, so it gets prometheus-client's own WSGI exposition on a
thread of its own (stdlib server, no FastAPI) with a liveness answer beside it: 200 while
every worker thread came round its loop within ``max_age_s``, 503 with a JSON body saying
how long ago otherwise. The inbox depth is not here: the API's /metrics reads it from the
database, once for the whole deployment instead of once per worker process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from agents.runtime.liveness import HEARTBEATS, Heartbeats

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


@dataclass(frozen=True)
class Liveness:
    heartbeats: Heartbeats
    max_age_s: float

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        age = self.heartbeats.oldest_age_s()
        alive = age is None or age <= self.max_age_s
        body = {
            "status": "ok" if alive else "stalled",
            "worker_threads": self.heartbeats.running(),
            "oldest_heartbeat_age_s": None if age is None else round(age, 3),
            "max_age_s": self.max_age_s,
        }
        start_response(
            "200 OK" if alive else "503 Service Unavailable",
            [("Content-Type", "application/json")],
        )
        return [json.dumps(body).encode()]


def probe_app(max_age_s: float, heartbeats: Heartbeats = HEARTBEATS) -> WSGIApplication:
    metrics = make_wsgi_app()
    livez = Liveness(heartbeats, max_age_s)

    def route(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/livez":
            return livez(environ, start_response)
        if path == "/metrics":
            return metrics(environ, start_response)  # type: ignore[no-any-return]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: /metrics and /livez are served here\n"]

    return route


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    """Scrapes and probes every few seconds would drown the worker's own log lines."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serving_probes(
    host: str, port: int, *, max_age_s: float, heartbeats: Heartbeats = HEARTBEATS
) -> Iterator[WSGIServer]:
    """Serve /metrics and /livez until the block ends; ``port`` 0 picks a free one (read it
    from ``server.server_port``)."""
    app = probe_app(max_age_s, heartbeats)
    server = make_server(host, port, app, _Server, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, name="worker-probes", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
