"""The sandbox's HTTP/1.1 server reads request headers itself (``sandbox_http``): what
http.server's parser accepted and refused, it still does, over a raw socket."""

from __future__ import annotations

import json
import re
import socket

from tools.lms.sandbox import SandboxServer


def exchange(sandbox: SandboxServer, request: bytes, *, closes: bool = True) -> bytes:
    """Send raw bytes and read until the server closes the connection (or, when it should
    not, goes quiet); what it answered."""
    host, port = sandbox.root_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(request)
        connection.settimeout(1.0)
        received = b""
        closed = False
        try:
            while chunk := connection.recv(65536):
                received += chunk
            closed = True
        except TimeoutError:
            pass
    assert closed == closes
    return received


def statuses(received: bytes) -> list[int]:
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3}) ", received)]


def test_headers_any_case_folded_and_malformed(sandbox: SandboxServer) -> None:
    body = json.dumps({"status": 503, "count": 1}).encode()
    request = (
        b"POST /_sandbox/faults HTTP/1.1\r\n"
        b"host: sandbox\r\n"
        b"content-TYPE: application/json\r\n"
        b"X-Folded: first\r\n"
        b"\tsecond\r\n"
        b"CONTENT-LENGTH: " + str(len(body)).encode() + b"\r\n"
        b"Connection: close\r\n"
        b"not a header line: the fields end here\r\n"
        b"Connection: keep-alive\r\n\r\n" + body
    )
    received = exchange(sandbox, request)
    assert statuses(received) == [201]
    assert json.loads(received.split(b"\r\n\r\n", 1)[1])["status"] == 503


def test_keep_alive_serves_requests_in_turn_until_close(sandbox: SandboxServer) -> None:
    one = b"GET /_sandbox/requests HTTP/1.1\r\nHost: s\r\n\r\n"
    assert statuses(exchange(sandbox, one + one, closes=False)) == [200, 200]
    last = b"GET /_sandbox/requests HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n"
    assert statuses(exchange(sandbox, one + one + last)) == [200, 200, 200]


def test_http_1_0_closes_after_one_response(sandbox: SandboxServer) -> None:
    one = b"GET /_sandbox/requests HTTP/1.0\r\n\r\n"
    assert statuses(exchange(sandbox, one + one)) == [200]


def test_too_many_or_too_long_headers_are_refused(sandbox: SandboxServer) -> None:
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(101))
    received = exchange(sandbox, b"GET /_sandbox/requests HTTP/1.1\r\n" + many + b"\r\n")
    assert statuses(received) == [431]
    long = b"X-Long: " + b"a" * 70000 + b"\r\n"
    received = exchange(sandbox, b"GET /_sandbox/requests HTTP/1.1\r\n" + long + b"\r\n")
    assert statuses(received) == [431]


def test_other_request_lines_are_http_servers_to_refuse(sandbox: SandboxServer) -> None:
    # http.server answers an HTTP/2 request line with an error page and no status line
    assert b"Error code: 505" in exchange(sandbox, b"GET /_sandbox/requests HTTP/2.0\r\n\r\n")
    assert statuses(exchange(sandbox, b"GET /a /b HTTP/1.1\r\n\r\n")) == [400]
