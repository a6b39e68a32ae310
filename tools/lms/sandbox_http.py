"""The sandbox's HTTP server: wsgiref's threading WSGI server speaking HTTP/1.1 with keep-alive.

wsgiref's own handler answers one request per connection over HTTP/1.0, so every SCIM
request paid a TCP connect and a thread start; a keep-alive client (httpx's pool, the
provisioning client's) now sends all its requests over one connection. Every response the
sandbox writes carries a Content-Length (wsgiref sets it for one-chunk bodies); one without
it, a chunked request, or ``Connection: close`` ends the connection after the response.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any, cast
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

log = logging.getLogger(__name__)

MAX_REQUEST_LINE = 65536
IDLE_TIMEOUT_S = 60.0


class _HTTP11ServerHandler(ServerHandler):
    http_version = "1.1"
    keep_alive = False

    headers: Any
    request_handler: KeepAliveHandler

    def cleanup_headers(self) -> None:
        """A response without a length can only end with the connection: say so."""
        super().cleanup_headers()
        self.keep_alive = "Content-Length" in self.headers
        if not self.keep_alive:
            self.headers["Connection"] = "close"


class _BoundedInput:
    """``wsgi.input`` limited to the request's body, so an application that reads less
    than Content-Length cannot leave the rest to be parsed as the next request."""

    def __init__(self, stream: Any, length: int) -> None:
        self._stream = stream
        self._left = length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = self._left if size < 0 else min(size, self._left)
        data: bytes = self._stream.read(size)
        self._left -= len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = self._left if size < 0 else min(size, self._left)
        data: bytes = self._stream.readline(size)
        self._left -= len(data)
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    def drain(self) -> None:
        while self._left > 0 and self.read(min(self._left, 65536)):
            pass


class KeepAliveHandler(WSGIRequestHandler):
    """Serves requests on one connection until the client closes it or asks to."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes
    timeout = IDLE_TIMEOUT_S

    server: KeepAliveWSGIServer

    def setup(self) -> None:
        super().setup()
        self.server.opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.closed(self.connection)

    def handle(self) -> None:
        self.close_connection = True
        self._handle_one()
        while not self.close_connection:
            self._handle_one()

    def _handle_one(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(MAX_REQUEST_LINE + 1)
        except TimeoutError:
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > MAX_REQUEST_LINE:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            self.close_connection = True
            return
        if not self.parse_request():  # an error was sent
            self.close_connection = True
            return
        if self.headers.get("Transfer-Encoding"):
            self.send_error(411, "Content-Length required")
            self.close_connection = True
            return
        body = _BoundedInput(self.rfile, int(self.headers.get("Content-Length") or 0))
        handler = _HTTP11ServerHandler(
            cast(Any, body),
            cast(Any, self.wfile),
            self.get_stderr(),
            self.get_environ(),
            multithread=True,
        )
        handler.request_handler = self  # wsgiref logs through it
        app = self.server.get_app()
        assert app is not None
        handler.run(app)
        body.drain()
        if not handler.keep_alive:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sandbox %s - %s", self.address_string(), format % args)


class KeepAliveWSGIServer(ThreadingMixIn, WSGIServer):
    """One thread per connection; ``on_connection`` is called as each one is accepted.

    ``server_close`` also ends the connections still open, so a stopped sandbox stops
    answering at once, as it did when each request had its own connection (tests stop it to
    play an LMS outage, and a client's pool would otherwise still reach it).
    """

    daemon_threads = True
    on_connection: Callable[[], None] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def opened(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.add(connection)
        if self.on_connection is not None:
            self.on_connection()

    def closed(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(connection)

    def server_close(self) -> None:
        super().server_close()
        with self._open_lock:
            open_connections = list(self._open)
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


def make_keep_alive_server(
    host: str,
    port: int,
    app: WSGIApplication,
    *,
    on_connection: Callable[[], None] | None = None,
) -> KeepAliveWSGIServer:
    server = KeepAliveWSGIServer((host, port), KeepAliveHandler)
    server.set_app(app)
    server.on_connection = on_connection
    return server
