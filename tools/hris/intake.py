"""Accepting a webhook delivery: size, media type, signature, schema, then the inbox.

Kept out of the HTTP layer so the same rules hold for any transport (and for tests).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from core import inbox
from tools.hris.errors import IntakeError
from tools.hris.source import WebhookSource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    receipt_id: str
    source: str
    event_id: str
    duplicate: bool


def is_json_media_type(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def receive(
    *,
    engine: Engine,
    sources: Mapping[str, WebhookSource],
    source_name: str,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime,
    max_body_bytes: int,
) -> Receipt:
    """Verify and store one delivery; the row is committed before this returns."""
    source = sources.get(source_name)
    if source is None:
        known = ", ".join(sorted(sources))
        raise IntakeError(
            404, "Unknown source", f"no webhook source {source_name!r}; known: {known}"
        )
    if len(body) > max_body_bytes:
        raise IntakeError(413, "Payload too large", f"body exceeds {max_body_bytes} bytes")
    if not is_json_media_type(headers.get("content-type")):
        raise IntakeError(415, "Unsupported media type", "send the event as application/json")
    event = source.parse(body=body, headers=headers, now=now)
    row, created = inbox.enqueue(engine, event=event)
    log.info(
        "%s %s event %s from %s as %s",
        "accepted" if created else "duplicate",
        event.type.value,
        event.event_id,
        source_name,
        row.id,
    )
    return Receipt(
        receipt_id=row.id, source=row.source, event_id=row.event_id, duplicate=not created
    )
