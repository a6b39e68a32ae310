"""A local HTTP endpoint that records what is posted to it: the chat webhook in tests."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tests.doubles.local_http import LocalServer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class WebhookSink:
    def __init__(self, *, fail_first: int = 0) -> None:
        self.posts: list[dict[str, Any]] = []
        self._fail = fail_first
        self._server = LocalServer(self._app)

    @property
    def url(self) -> str:
        return f"{self._server.root_url}/hooks/reviews"

    def __enter__(self) -> WebhookSink:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        if self._fail > 0:
            self._fail -= 1
            start_response("503 Unavailable", [("content-type", "text/plain")])
            return [b"busy"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.posts.append(json.loads(environ["wsgi.input"].read(length)))
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"ok"]
