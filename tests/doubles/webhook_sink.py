"""A local HTTP endpoint that records what is posted to it: the chat webhook in tests."""

from __future__ import annotations

import json
import threading
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class WebhookSink:
    def __init__(self, *, fail_first: int = 0) -> None:
        self.posts: list[dict[str, Any]] = []
        self._fail = fail_first
        self._server = make_server(
            "127.0.0.1", 0, self._app, server_class=_Server, handler_class=_Quiet
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/hooks/reviews"

    def __enter__(self) -> WebhookSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        if self._fail > 0:
            self._fail -= 1
            start_response("503 Unavailable", [("content-type", "text/plain")])
            return [b"busy"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.posts.append(json.loads(environ["wsgi.input"].read(length)))
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"ok"]
