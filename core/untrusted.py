"""How a value a caller controls (a header, a path segment) may appear in a log line or an
error detail.

Headers reach us before anything is authenticated, so their length and characters are
the sender's choice: a 5,000-character ``webhook-id`` must cost one short log line, and a
value with a newline or an escape sequence must not be able to write a second, forged log
line or colour a terminal.
"""

from __future__ import annotations

SHOWN_CHARS = 64


def shown(value: object, *, limit: int = SHOWN_CHARS) -> str:
    """``value`` quoted and ASCII-escaped (``ascii()``), cut to ``limit`` characters with the
    full length said, so a reader sees that it was cut and by how much."""
    text = str(value)
    if len(text) <= limit:
        return ascii(text)
    return f"{text[:limit]!a}... ({len(text)} chars)"
