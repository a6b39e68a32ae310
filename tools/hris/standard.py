"""Standard Webhooks (https://www.standardwebhooks.com), our native, iPaaS-friendly format.

Signature checking is delegated to the reference ``standardwebhooks`` library so we inherit
its handling of ``whsec_`` secrets, versioned and multiple signatures, and constant-time
comparison instead of re-implementing them.

Timestamps: the library re-checks ``webhook-timestamp`` against the *wall clock* with a fixed
5-minute window and reports a stale delivery only as a generic verification failure. We
therefore check the timestamp ourselves first, against the injected ``now``, to answer 400
(stale/future) rather than 401, and clamp our tolerance to the library's 300 s so the two
checks agree. A consequence: ``now`` must be (close to) the real time, which is what the API
passes; tests sign with the real clock too.
"""

from __future__ import annotations

import binascii
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr
from standardwebhooks.webhooks import (
    EmptyWebhookSecretError,
    Webhook,
    WebhookVerificationError,
)

from core.employee import Employee, EventType, HRISEvent
from core.untrusted import shown
from tools.hris.errors import malformed_header, unauthorized
from tools.hris.source import (
    assemble_event,
    check_freshness,
    decode_json,
    get_header,
    require_secrets,
    validate_body,
)

logger = logging.getLogger(__name__)

LIBRARY_TOLERANCE_S = 300  # hard-coded in standardwebhooks.webhooks.Webhook
TIMESTAMP_HEADER = "webhook-timestamp"
_HEADERS = ("webhook-id", TIMESTAMP_HEADER, "webhook-signature")
MAX_TIMESTAMP_DIGITS = 12
"""Seconds since the epoch fit in 10 digits until the year 2286; 12 leave room for a
sender's odd clock while keeping ``int`` trivial."""
_EPOCH_SECONDS = re.compile(rf"[0-9]{{1,{MAX_TIMESTAMP_DIGITS}}}")


class StandardPayload(BaseModel):
    """The body we document for senders; extra envelope keys are tolerated so senders can
    add tracing metadata, but the employee snapshot itself is strict."""

    model_config = ConfigDict(extra="ignore")

    type: EventType
    timestamp: AwareDatetime
    data: Employee
    changed_fields: list[str] = Field(default_factory=list)


class StandardWebhookSource:
    """Receives Standard Webhooks; accepts any of several secrets so keys can be rotated."""

    name = "standard"

    def __init__(self, secrets: Sequence[SecretStr], tolerance_s: int = LIBRARY_TOLERANCE_S):
        self._secrets = list(secrets)
        if tolerance_s > LIBRARY_TOLERANCE_S:
            logger.warning(
                "webhook tolerance %s s exceeds the standardwebhooks library's %s s; using %s s",
                tolerance_s,
                LIBRARY_TOLERANCE_S,
                LIBRARY_TOLERANCE_S,
            )
        self.tolerance_s = min(tolerance_s, LIBRARY_TOLERANCE_S)
        self._verifiers = [_verifier(s, i) for i, s in enumerate(self._secrets)]

    def parse(self, *, body: bytes, headers: Mapping[str, str], now: datetime) -> HRISEvent:
        msg_id = self._verify(body, headers, now)
        payload = validate_body(StandardPayload, decode_json(body))
        return assemble_event(
            {
                "event_id": msg_id,
                "source": self.name,
                "type": payload.type,
                "occurred_at": payload.timestamp,
                "employee_external_id": payload.data.external_id,
                "employee": payload.data,
                "changed_fields": payload.changed_fields,
            },
            rename={"event_id": "webhook-id", "employee_external_id": "data.external_id"},
        )

    def _verify(self, body: bytes, headers: Mapping[str, str], now: datetime) -> str:
        """Return the verified webhook-id."""
        require_secrets(self.name, self._secrets)
        found = {h: get_header(headers, h) for h in _HEADERS}
        missing = [h for h, v in found.items() if not v]
        if missing:
            raise unauthorized(f"Missing Standard Webhooks header(s): {', '.join(missing)}.")
        msg_headers = {h: v for h, v in found.items() if v}
        sent_at = _timestamp(msg_headers[TIMESTAMP_HEADER])
        check_freshness(sent_at, now, self.tolerance_s, header=TIMESTAMP_HEADER)
        for verifier in self._verifiers:
            try:
                verifier.verify(body, msg_headers, json_parse=False)
            except (WebhookVerificationError, ValueError) as exc:
                # ValueError: malformed signature list or a non-UTF-8 body, which the
                # library cannot verify; both are treated as "not signed by us".
                logger.debug("standard webhook signature mismatch for one secret: %s", exc)
                continue
            return msg_headers["webhook-id"]
        logger.warning(
            "standard webhook refused: no secret matched (id=%s)", shown(found["webhook-id"])
        )
        raise unauthorized("No signature in webhook-signature matches a configured secret.")


def _verifier(secret: SecretStr, index: int) -> Webhook:
    """Fail at start-up on an unusable secret, naming its position but never its value."""
    try:
        return Webhook(secret.get_secret_value())
    except (binascii.Error, EmptyWebhookSecretError) as exc:
        raise ValueError(
            f"Standard Webhooks secret #{index + 1} is not a valid whsec_/base64 secret"
        ) from exc


def _timestamp(raw: str) -> datetime:
    """The spec sends integer seconds since the epoch; anything else is a 400, not a 401,
    because the problem is the timestamp, not the key.

    Judged before the signature, so nothing here may trust the value: ASCII digits only
    (``str.isdigit`` and ``int`` also take '²' and '١٢٣'), and few enough of them that
    ``int`` is cheap and cannot refuse (it raises past 4,300 digits).
    """
    text = raw.strip()
    if not _EPOCH_SECONDS.fullmatch(text):
        reason = (
            f"must be integer seconds since the epoch, at most {MAX_TIMESTAMP_DIGITS} "
            f"ASCII digits; got {shown(raw)}"
        )
        raise malformed_header(TIMESTAMP_HEADER, reason)
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(text))
    except OverflowError as exc:
        raise malformed_header(TIMESTAMP_HEADER, f"out of range: {shown(raw)}") from exc
