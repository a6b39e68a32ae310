"""The contract every webhook source honours, and the checks they all share.

Every source runs the same three gates in the same order, so a sender always gets the
most useful refusal: authenticity first (401, or 400 for a stale timestamp, judged before
anything in the body is trusted), then syntax (400), then meaning (422 with field paths).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from core.employee import HRISEvent
from tools.hris.errors import FieldError, IntakeError, bad_timestamp, invalid_payload, unauthorized

if TYPE_CHECKING:
    from core.settings import Settings

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


def check_freshness(sent_at: datetime, now: datetime, tolerance_s: int) -> None:
    """Bound replays of a captured delivery to the tolerance window, in both directions
    (a far-future timestamp would otherwise stay replayable for a long time)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    skew = (now - sent_at).total_seconds()
    if skew > tolerance_s:
        raise bad_timestamp(
            f"Timestamp is {int(skew)} s old; deliveries older than {tolerance_s} s are refused."
        )
    if -skew > tolerance_s:
        raise bad_timestamp(
            f"Timestamp is {int(-skew)} s in the future; more than {tolerance_s} s of clock "
            "skew is refused."
        )


def decode_json(body: bytes) -> Any:
    """Decode only after the signature held, so unauthenticated bytes never reach a parser."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntakeError(
            400,
            "Malformed body",
            "The request body is not valid UTF-8 JSON.",
            [FieldError("body", str(exc))],
        ) from exc


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


def build_sources(settings: Settings) -> dict[str, WebhookSource]:
    """All configured sources keyed by the ``{source}`` path segment of the webhook route.

    Imported here rather than at module top because the adapters import this module's
    helpers.
    """
    from tools.hris.bamboohr import BambooHRSource
    from tools.hris.merge import MergeSource
    from tools.hris.standard import StandardWebhookSource

    sources: list[WebhookSource] = [
        StandardWebhookSource(settings.webhook_secrets_standard, settings.webhook_tolerance_s),
        BambooHRSource(settings.webhook_secrets_bamboohr, settings.webhook_tolerance_s),
        MergeSource(settings.webhook_secrets_merge),
    ]
    return {source.name: source for source in sources}
