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
from http import HTTPStatus
from io import BytesIO
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any, cast
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

log = logging.getLogger(__name__)

MAX_REQUEST_LINE = 65536
MAX_HEADERS = 100  # http.client's limit
IDLE_TIMEOUT_S = 60.0
PLAIN_VERSIONS = frozenset({"HTTP/1.0", "HTTP/1.1"})


class RequestHeaders:
    """A request's header fields, read without ``email.parser`` (which http.server uses and
    which was a tenth of the sandbox's CPU per request); it offers what ``WSGIRequestHandler``
    and this module read of an ``email.message.Message``."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._fields = fields

    def get(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower()
        for key, value in self._fields:
            if key.lower() == wanted:
                return value
        return default

    def __getitem__(self, name: str) -> str | None:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def items(self) -> list[tuple[str, str]]:
        return list(self._fields)

    def get_all(self, name: str, failobj: Any = None) -> list[str] | Any:
        wanted = name.lower()
        found = [value for key, value in self._fields if key.lower() == wanted]
        return found or failobj

    def get_content_type(self) -> str:
        value = self.get("Content-Type")
        media_type = (value or "").partition(";")[0].strip().lower()
        return media_type if media_type.count("/") == 1 else "text/plain"


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

    def parse_request(self) -> bool:
        """http.server's parsing for a plain ``METHOD target HTTP/1.x`` request line, with
        the header fields read by ``_read_headers``; any other request line is http.server's
        to parse (and refuse)."""
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if len(words) != 3 or words[2] not in PLAIN_VERSIONS:
            return bool(super().parse_request())
        self.requestline = requestline
        self.command, self.path, self.request_version = words
        self.close_connection = self.request_version != "HTTP/1.1"
        if self.path.startswith("//"):
            self.path = "/" + self.path.lstrip("/")  # as http.server does
        headers = self._read_headers()
        if headers is None:  # an error was sent
            self.close_connection = True
            return False
        self.headers = cast(Any, headers)
        connection = (headers.get("Connection") or "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        expect = (headers.get("Expect") or "").lower()
        if expect == "100-continue" and self.request_version == "HTTP/1.1":
            return bool(self.handle_expect_100())
        return True

    def _read_headers(self) -> RequestHeaders | None:
        """The header block up to its blank line. As with ``email.parser``, a line that is
        not a field ends the fields (it and the lines after it are dropped), and a folded
        line continues the field before it."""
        fields: list[tuple[str, str]] = []
        ended = False
        lines = 0
        while True:
            line = self.rfile.readline(MAX_REQUEST_LINE + 1)
            lines += 1
            if len(line) > MAX_REQUEST_LINE:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long")
                return None
            if line in (b"\r\n", b"\n", b""):
                return RequestHeaders(fields)
            if lines > MAX_HEADERS:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
                return None
            text = str(line, "iso-8859-1")
            if ended:
                continue
            if text[0] in " \t" and fields:  # an obsolete folded continuation
                name, value = fields[-1]
                fields[-1] = (name, f"{value} {text.strip()}")
                continue
            name, colon, value = text.partition(":")
            if colon and name and not any(c in name for c in " \t"):
                fields.append((name, value.strip()))
            else:
                ended = True

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
        # The response is written in one send, not one per status line, header block and
        # body: every response here is built in memory anyway.
        out = BytesIO()
        handler = _HTTP11ServerHandler(
            cast(Any, body),
            cast(Any, out),
            self.get_stderr(),
            self.get_environ(),
            multithread=True,
        )
        handler.request_handler = self  # wsgiref logs through it
        app = self.server.get_app()
        assert app is not None
        handler.run(app)
        try:
            self.wfile.write(out.getvalue())
        except (ConnectionAbortedError, BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away, as wsgiref's run allows
            return
        body.drain()
        if not handler.keep_alive:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        if log.isEnabledFor(logging.DEBUG):  # called for every request
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
