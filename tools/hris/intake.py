"""Accepting a webhook delivery: size, media type, signature, schema, then the inbox.

Kept out of the HTTP layer so the same rules hold for any transport (and for tests).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

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


def arrival(
    *,
    sources: Mapping[str, WebhookSource],
    source_name: str,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime,
    max_body_bytes: int,
    pseudonym_key: bytes | None = None,
) -> inbox.Arrival:
    """Check one delivery and make it ready to store (its receipt id and audit entry);
    nothing here touches the database, so a refusal costs no transaction."""
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
    receipt_id = inbox.new_receipt_id()
    entry = _received_entry(event, pseudonym_key, receipt_id) if pseudonym_key is not None else None
    return inbox.Arrival(event=event, receipt_id=receipt_id, audit_entry=entry)


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
    """Verify and store one delivery in its own transaction; the row is committed before
    this returns. (The API goes through ``WebhookIntake``.)"""
    checked = arrival(
        sources=sources,
        source_name=source_name,
        body=body,
        headers=headers,
        now=now,
        max_body_bytes=max_body_bytes,
        pseudonym_key=pseudonym_key,
    )
    (stored,) = inbox.enqueue_many(engine, [checked])
    return _receipt(checked, stored)


@dataclass(frozen=True)
class WebhookIntake:
    """What the API's webhook route needs, built once per process (``Services.intake``):
    the sources with their verifiers, the size limit, the pseudonym key, and the inbox's
    group-commit writer. One object, so a delivery costs one dependency lookup."""

    sources: Mapping[str, WebhookSource]
    writer: inbox.InboxWriter
    max_body_bytes: int
    pseudonym_key: bytes | None

    async def receive(
        self, *, source_name: str, body: bytes, headers: Mapping[str, str], now: datetime
    ) -> Receipt:
        """Verify one delivery on the caller's event loop, then store it with whatever
        else arrived meanwhile (group commit, ``core.inbox.group_commit``); returns once
        the commit holding its row is done."""
        checked = arrival(
            sources=self.sources,
            source_name=source_name,
            body=body,
            headers=headers,
            now=now,
            max_body_bytes=self.max_body_bytes,
            pseudonym_key=self.pseudonym_key,
        )
        try:
            stored = await asyncio.wrap_future(self.writer.submit(checked))
        except Exception as error:  # the batch rolled back (logged by the writer)
            raise IntakeError(
                503, "Not stored", "the inbox could not commit this delivery; send it again"
            ) from error
        return _receipt(checked, stored)


def _receipt(checked: inbox.Arrival, stored: inbox.Stored) -> Receipt:
    # DEBUG: at a thousand deliveries a second a line each is the costliest thing intake
    # does; every accepted delivery is in the audit trail (event_received) anyway
    log.debug(
        "%s %s event %s from %s as %s",
        "accepted" if stored.created else "duplicate",
        checked.event.type.value,
        shown(stored.event_id),
        stored.source,
        stored.receipt_id,
    )
    return Receipt(
        receipt_id=stored.receipt_id,
        source=stored.source,
        event_id=stored.event_id,
        duplicate=not stored.created,
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
