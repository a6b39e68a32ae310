"""Accepting a webhook delivery: size, media type, signature, schema, then the inbox.

Kept out of the HTTP layer so the same rules hold for any transport (and for tests).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy.engine import Engine

from core import inbox
from core.audit import ActorKind, AuditAction, AuditEntryCreate
from core.employee import HRISEvent
from core.untrusted import shown
from core.vault import pseudonym
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
    pseudonym_key: bytes | None = None,
) -> Receipt:
    """Verify and store one delivery; the row is committed before this returns."""
    source = sources.get(source_name)
    if source is None:
        known = ", ".join(sorted(sources))
        raise IntakeError(
            404, "Unknown source", f"no webhook source {shown(source_name)}; known: {known}"
        )
    if len(body) > max_body_bytes:
        raise IntakeError(413, "Payload too large", f"body exceeds {max_body_bytes} bytes")
    if not is_json_media_type(headers.get("content-type")):
        raise IntakeError(415, "Unsupported media type", "send the event as application/json")
    event = source.parse(body=body, headers=headers, now=now)
    audit_entry = (
        partial(_received_entry, event, pseudonym_key) if pseudonym_key is not None else None
    )
    row, created = inbox.enqueue(engine, event=event, audit_entry=audit_entry)
    log.info(
        "%s %s event %s from %s as %s",
        "accepted" if created else "duplicate",
        event.type.value,
        shown(event.event_id),
        source_name,
        row.id,
    )
    return Receipt(
        receipt_id=row.id, source=row.source, event_id=row.event_id, duplicate=not created
    )


def _received_entry(event: HRISEvent, pseudonym_key: bytes, receipt_id: str) -> AuditEntryCreate:
    """The first link of a person's history: what arrived, from where, never the payload."""
    return AuditEntryCreate(
        event_id=event.event_id[:256],
        receipt_id=receipt_id,
        subject=pseudonym(event.employee_external_id, secret=pseudonym_key),
        actor=f"hris:{event.source}",
        actor_kind=ActorKind.system,
        action=AuditAction.event_received,
        after={"type": event.type.value, "occurred_at": event.occurred_at.isoformat()},
        provenance={"source": event.source, "full_record": event.employee is not None},
    )
