"""The contract every webhook source honours, and the checks they all share.

Every source runs the same three gates in the same order, so a sender always gets the
most useful refusal: authenticity first (401, or 400 for a stale timestamp, judged before
anything in the body is trusted), then syntax (400), then meaning (422 with field paths).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn, Protocol, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from core.employee import HRISEvent
from core.untrusted import shown
from tools.hris.errors import FieldError, IntakeError, bad_timestamp, invalid_payload, unauthorized

logger = logging.getLogger(__name__)

PayloadT = TypeVar("PayloadT", bound=BaseModel)

# Pydantic puts validator and union-member tags such as ``function-after[...]`` into
# ``loc``; a sender knows nothing about them, so they never reach a field path.
_PYDANTIC_INTERNAL = re.compile(r"^[A-Za-z_-]+\[.*\]$", re.DOTALL)


class WebhookSource(Protocol):
    """One HRIS that can post events to ``POST /webhooks/{name}``."""

    name: str

    def parse(self, *, body: bytes, headers: Mapping[str, str], now: datetime) -> HRISEvent:
        """Authenticate ``body`` and translate it, or raise ``IntakeError``.

        ``now`` is injected so that tolerance checks are testable; the API passes the clock.
        """
        ...


def get_header(headers: Mapping[str, str], name: str) -> str | None:
    """Look a header up ignoring case: plain dicts in tests and proxies disagree on case."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def require_secrets(source: str, secrets: Sequence[SecretStr]) -> list[str]:
    """Refuse every delivery while no secret is configured: an unset key must never mean
    "accept anything"."""
    values = [s.get_secret_value() for s in secrets if s.get_secret_value()]
    if not values:
        logger.error("webhook refused: no secret configured for source %s", source)
        raise unauthorized(
            f"No webhook secret is configured for source '{source}'; refusing all deliveries "
            f"until TALENTSYNC_WEBHOOK_SECRETS_{source.upper()} is set."
        )
    return values


def check_freshness(sent_at: datetime, now: datetime, tolerance_s: int, *, header: str) -> None:
    """Bound replays of a captured delivery to the tolerance window, in both directions
    (a far-future timestamp would otherwise stay replayable for a long time)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    skew = (now - sent_at).total_seconds()
    if skew > tolerance_s:
        raise bad_timestamp(
            header,
            f"Timestamp is {int(skew)} s old; deliveries older than {tolerance_s} s are refused.",
        )
    if -skew > tolerance_s:
        raise bad_timestamp(
            header,
            f"Timestamp is {int(-skew)} s in the future; more than {tolerance_s} s of clock "
            "skew is refused.",
        )


MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects a body may have: our payloads need about five
levels, and a deeper body is an attack on the parser (5,000 nested arrays exhaust
Python's recursion limit), not an HR event."""
MAX_INTEGER_DIGITS = 128
"""Longest integer literal accepted: as long as the longest id we take (Python refuses
to convert more than 4,300 digits, and converting even that many costs quadratic time)."""


class _UnacceptableNumberError(ValueError):
    """Raised from the decoder's hooks, so a number we refuse stops the parse at once."""


def _integer(literal: str) -> int:
    digits = len(literal.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise _UnacceptableNumberError(
            f"an integer has {digits} digits; at most {MAX_INTEGER_DIGITS} are accepted"
        )
    return int(literal)


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _UnacceptableNumberError(
            f"the number {shown(literal, limit=24)} is too large for a double (RFC 8259 §6)"
        )
    return value


def _no_constant(name: str) -> NoReturn:
    raise _UnacceptableNumberError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def _unacceptable_structure(document: object) -> str | None:
    """Why the decoded document is refused, or ``None``: nesting deeper than
    ``MAX_JSON_DEPTH`` or a string holding U+0000, which no HR field contains and
    PostgreSQL cannot store in text (it failed the insert: a 500). Iterative, so a deep
    document cannot exhaust the stack while being measured."""
    stack: list[tuple[object, int]] = [(document, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return "a string holds U+0000 (NUL), which is accepted nowhere"
            continue
        children: Iterable[object]
        if isinstance(node, dict):
            children = [*node.keys(), *node.values()]
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth + 1 > MAX_JSON_DEPTH:
            return f"nested deeper than {MAX_JSON_DEPTH} levels"
        stack.extend((child, depth + 1) for child in children)
    return None


def _malformed(
    reason: str, detail: str = "The request body is not valid UTF-8 JSON."
) -> IntakeError:
    return IntakeError(400, "Malformed body", detail, [FieldError("body", reason)])


def _unacceptable(reason: str) -> IntakeError:
    return _malformed(reason, f"The request body is JSON we do not accept: {reason}.")


def decode_json(body: bytes) -> Any:
    """Decode only after the signature held, so unauthenticated bytes never reach a parser.

    A signed body is still outside input (a sender's bug, a leaked key): whatever it holds
    ends in a 400 naming the reason, never in an exception the API did not expect.
    """
    try:
        document = json.loads(
            body, parse_int=_integer, parse_float=_finite, parse_constant=_no_constant
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _malformed(str(exc)) from exc
    except _UnacceptableNumberError as exc:
        raise _unacceptable(str(exc)) from exc
    except RecursionError as exc:  # deeper than the interpreter's stack, far past the limit
        raise _unacceptable(f"nested deeper than {MAX_JSON_DEPTH} levels") from exc
    problem = _unacceptable_structure(document)
    if problem is not None:
        raise _unacceptable(problem)
    return document


def body_digest(body: bytes) -> str:
    """A stable event id for senders without a delivery id: a retry re-sends the same bytes,
    so the inbox's unique (source, event id) still deduplicates it."""
    return hashlib.sha256(body).hexdigest()


def dotted_path(loc: Sequence[int | str], rename: Mapping[str, str] | None = None) -> str:
    """Turn a pydantic ``loc`` into the dotted path of the sender's own field names."""
    parts = [str(p) for p in loc if not (isinstance(p, str) and _PYDANTIC_INTERNAL.match(p))]
    path = ".".join(parts)
    if rename:
        # Longest prefix first, so "data.email" beats "data".
        for ours in sorted(rename, key=len, reverse=True):
            if path == ours or path.startswith(ours + "."):
                return rename[ours] + path[len(ours) :]
    return path


def field_errors(
    exc: ValidationError, *, prefix: str = "", rename: Mapping[str, str] | None = None
) -> list[FieldError]:
    """Name each problem by the path the sender wrote, never by our internal model."""
    errors = []
    for err in exc.errors(include_url=False):
        path = ".".join(p for p in (prefix, dotted_path(err["loc"], rename)) if p)
        errors.append(FieldError(path or "body", err["msg"]))
    return errors


def invalid(
    exc: ValidationError, *, prefix: str = "", rename: Mapping[str, str] | None = None
) -> IntakeError:
    return invalid_payload(field_errors(exc, prefix=prefix, rename=rename))


def validate_body(model: type[PayloadT], document: object) -> PayloadT:
    """A source's body model, or a 422 naming every field that does not fit it."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise invalid(exc) from exc


def assemble_event(fields: Mapping[str, Any], rename: Mapping[str, str]) -> HRISEvent:
    """Build the canonical event, blaming any violation on the sender's field it came from."""
    try:
        return HRISEvent.model_validate(dict(fields))
    except ValidationError as exc:
        raise invalid(exc, rename=rename) from exc
