"""Merge.dev unified HRIS: "changed data" webhooks for the ``Employee`` common model.

Format (https://docs.merge.dev/basics/webhooks/merge-webhooks/, help.merge.dev "Creating
Webhooks in Merge" and "Merge Webhook Signatures"):

* header ``X-Merge-Webhook-Signature`` = base64url-encoded HMAC-SHA256 of the raw request
  body, keyed with the organisation's webhook signature key. Padding is compared stripped,
  since senders and examples disagree on the trailing ``=``.
* JSON body ``{"hook": {"id", "event", "target"}, "linked_account": {...}, "data": <model>}``
  where ``hook.event`` is ``Employee.added``, ``Employee.changed`` or ``Employee.removed``
  and ``data`` is the Merge ``Employee`` model.

Merge signs no timestamp and sends no delivery id (``hook.id`` names the webhook
configuration, not the delivery), so there is no freshness check and the event id is the
body digest; Merge retries re-send identical bytes, so deduplication still holds.

Related objects (``employments``, ``team``, ``work_location``, ``manager``) are Merge ids
unless the webhook is configured to expand them; an unexpanded reference yields ``None``
because a Merge id is not an HRIS id and would poison joins on ``external_id``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError

from core.employee import Employee, EmploymentStatus, EventType, HRISEvent, WorkerType
from tools.hris.errors import FieldError, invalid_payload, unauthorized
from tools.hris.source import (
    assemble_event,
    body_digest,
    decode_json,
    get_header,
    invalid,
    require_secrets,
    validate_body,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Merge-Webhook-Signature"

# Merge's documented verbs are added/changed/removed; created/updated/deleted are accepted
# as well because Merge's newer docs and dashboards use that wording for the same events.
_ACTIONS: dict[str, EventType] = {
    "added": EventType.created,
    "created": EventType.created,
    "changed": EventType.updated,
    "updated": EventType.updated,
    "removed": EventType.terminated,
    "deleted": EventType.terminated,
}
_STATUSES = {
    "ACTIVE": EmploymentStatus.active,
    "PENDING": EmploymentStatus.pending,
    "INACTIVE": EmploymentStatus.inactive,
}
_WORKER_TYPES = {
    "CONTRACTOR": WorkerType.contractor,
    "FREELANCE": WorkerType.contractor,
    "INTERN": WorkerType.intern,
}
# Where each Employee field comes from in Merge's payload, to blame the right field.
_MERGE_PATHS = {
    "external_id": "data.remote_id",
    "email": "data.work_email",
    "given_name": "data.first_name",
    "family_name": "data.last_name",
    "preferred_name": "data.preferred_name",
    "title": "data.employments.0.job_title",
    "department": "data.team.name",
    "location": "data.work_location.name",
    "country": "data.work_location.country",
    "manager_external_id": "data.manager.remote_id",
    "employment_status": "data.employment_status",
    "worker_type": "data.employments.0.employment_type",
    "hire_date": "data.start_date",
    "termination_date": "data.termination_date",
}


def _expanded(value: object) -> object:
    """Represent an unexpanded reference (a bare Merge id) like an expanded one."""
    return {"id": value} if isinstance(value, str) else value


def _to_date(value: object) -> object:
    """Merge sends dates as midnight-ish datetimes ("2020-10-10T07:00:00Z"); keep the day."""
    if isinstance(value, str) and "T" in value:
        return datetime.fromisoformat(value).date()
    return value


MergeDate = Annotated[date | None, BeforeValidator(_to_date)]


class _Ref(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    remote_id: str | None = None


class _Team(_Ref):
    name: str | None = None


class _Location(_Ref):
    name: str | None = None
    city: str | None = None
    country: str | None = None


class _Employment(_Ref):
    job_title: str | None = None
    employment_type: str | None = None


class MergeEmployee(BaseModel):
    """The subset of Merge's ``Employee`` model TalentSync reads; the rest is ignored."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    remote_id: str | None = None
    employee_number: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    preferred_name: str | None = None
    work_email: str | None = None
    personal_email: str | None = None
    employments: list[Annotated[_Employment, BeforeValidator(_expanded)]] = Field(
        default_factory=list
    )
    team: Annotated[_Team | None, BeforeValidator(_expanded)] = None
    work_location: Annotated[_Location | None, BeforeValidator(_expanded)] = None
    manager: Annotated[_Ref | None, BeforeValidator(_expanded)] = None
    employment_status: Literal["ACTIVE", "PENDING", "INACTIVE"] | None = None
    start_date: MergeDate = None
    hire_date: MergeDate = None
    termination_date: MergeDate = None
    modified_at: datetime | None = None


class _Hook(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    event: str


class MergePayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    hook: _Hook
    linked_account: dict[str, Any] | None = None
    data: MergeEmployee


class MergeSource:
    """Receives Merge HRIS employee webhooks; several signature keys allow rotation."""

    name = "merge"

    def __init__(self, secrets: Sequence[SecretStr]):
        self._secrets = list(secrets)

    def parse(self, *, body: bytes, headers: Mapping[str, str], now: datetime) -> HRISEvent:
        self._verify(body, headers)
        payload = validate_body(MergePayload, decode_json(body))
        kind = _event_type(payload.hook.event)
        employee = employee_from_merge(payload.data)
        # Merge has no "terminated" event: a termination arrives as a change to INACTIVE.
        if kind is EventType.updated and employee.employment_status is EmploymentStatus.inactive:
            kind = EventType.terminated
        modified = payload.data.modified_at
        return assemble_event(
            {
                "event_id": body_digest(body),
                "source": self.name,
                "type": kind,
                "occurred_at": _as_utc(modified) if modified else now,
                "employee_external_id": employee.external_id,
                "employee": employee,
            },
            rename={"employee_external_id": "data.remote_id"},
        )

    def _verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        keys = require_secrets(self.name, self._secrets)
        signature = get_header(headers, SIGNATURE_HEADER)
        if not signature:
            raise unauthorized(f"Missing {SIGNATURE_HEADER} header.")
        given = signature.strip().rstrip("=").encode("utf-8", "replace")
        for key in keys:
            if hmac.compare_digest(sign(key, body).rstrip("=").encode("ascii"), given):
                return
        logger.warning("merge webhook refused: signature matches no configured key")
        raise unauthorized(f"{SIGNATURE_HEADER} does not match any configured signature key.")


def sign(signature_key: str, body: bytes) -> str:
    """Merge's signature: base64url(HMAC-SHA256(key, raw body))."""
    digest = hmac.new(signature_key.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def employee_from_merge(data: MergeEmployee) -> Employee:
    """Map Merge's model to ours, naming Merge's field when a required value is missing."""
    fields = {
        "external_id": data.remote_id or data.employee_number or data.id,
        "email": data.work_email or data.personal_email,
        "given_name": data.first_name,
        "family_name": data.last_name,
        "preferred_name": data.preferred_name,
        "title": data.employments[0].job_title if data.employments else None,
        "department": data.team.name if data.team else None,
        "location": _location_name(data.work_location),
        "country": _country(data.work_location),
        "manager_external_id": data.manager.remote_id if data.manager else None,
        "employment_status": _STATUSES.get(data.employment_status or "ACTIVE"),
        "worker_type": _worker_type(data.employments),
        # The LMS cares about the first working day; hire_date is often the offer date.
        "hire_date": data.start_date or data.hire_date,
        "termination_date": data.termination_date,
    }
    try:
        return Employee.model_validate(fields)
    except ValidationError as exc:
        raise invalid(exc, rename=_MERGE_PATHS) from exc


def _event_type(event: str) -> EventType:
    """Checked before the data is mapped, so a non-employee event is blamed on its name
    rather than on the fields an Employee would need."""
    model, _, action = event.partition(".")
    kind = _ACTIONS.get(action.lower()) if model.lower() == "employee" else None
    if kind is None:
        reason = (
            f"unsupported event {event!r}; expected Employee.added, Employee.changed "
            "or Employee.removed"
        )
        raise invalid_payload([FieldError("hook.event", reason)])
    return kind


def _location_name(location: _Location | None) -> str | None:
    if location is None:
        return None
    return location.name or location.city


def _country(location: _Location | None) -> str | None:
    """Merge uses ISO 3166-1 alpha-2 already; anything else is dropped, not guessed."""
    code = (location.country or "").strip().upper() if location else ""
    return code if len(code) == 2 and code.isalpha() else None


def _worker_type(employments: list[_Employment]) -> WorkerType:
    kind = employments[0].employment_type if employments else None
    return _WORKER_TYPES.get((kind or "").upper(), WorkerType.employee)


def _as_utc(value: datetime) -> datetime:
    """Merge timestamps are UTC; a missing offset must not make the event invalid."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
