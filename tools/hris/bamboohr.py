"""BambooHR: event-based webhooks in, and a small REST client to read the full record.

Webhooks (https://documentation.bamboohr.com/docs/webhooks and /docs/event-based-webhooks):

* headers ``X-BambooHR-Timestamp`` (when the request was sent) and ``X-BambooHR-Signature``
  = lowercase hex HMAC-SHA256, keyed with the webhook's private key, of the raw request
  body immediately followed by the timestamp header value (``body + timestamp``, no
  separator);
* JSON body of the event-based format, one employee per delivery::

      {"type": "employee.updated", "timestamp": "2026-01-31T18:42:00+0000",
       "data": {"companyId": "12345", "employeeId": "67890", "changedFields": ["firstName"]}}

  with ``type`` one of ``employee.created``, ``employee.updated``, ``employee.deleted``.

The payload is deliberately thin, so the event carries no ``Employee``; the worker calls
``BambooHRClient.fetch_employee`` before acting. The legacy field-based format
(``{"employees": [...]}``, several employees per delivery) is refused with 422 so that one
delivery is always one inbox row.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import httpx
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
)
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from core.employee import Employee, EmploymentStatus, EventType, HRISEvent, WorkerType
from core.untrusted import shown
from tools.hris.errors import (
    FieldError,
    HRISFetchError,
    invalid_payload,
    malformed_header,
    unauthorized,
)
from tools.hris.source import (
    assemble_event,
    body_digest,
    check_freshness,
    decode_json,
    get_header,
    require_secrets,
    validate_body,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-BambooHR-Signature"
TIMESTAMP_HEADER = "X-BambooHR-Timestamp"
_MAX_ISO_CHARS = 40  # "2026-01-31T18:42:00.123456+00:00" is 32

_EVENT_TYPES: dict[str, EventType] = {
    "employee.created": EventType.created,
    "employee.updated": EventType.updated,
    "employee.deleted": EventType.terminated,
}
_DIGITS = re.compile(r"[0-9]+")
"""ASCII digits, matched with ``fullmatch``: ``\\d`` also takes '²' and '١٢٣', and ``$``
lets a trailing newline through."""
_EPOCH_DIGITS = re.compile(r"[0-9]{1,13}")
"""Epoch seconds or milliseconds: 13 digits reach the year 2286 in milliseconds."""
_MILLIS_THRESHOLD = 10**11  # a seconds value this large would be in the year 5138


def _id_to_str(value: object) -> object:
    """BambooHR documents ids as strings but JSON senders also emit numbers."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


BambooId = Annotated[
    str,
    BeforeValidator(_id_to_str),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[0-9]+$"),
]


class BambooEventData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    company_id: Annotated[str | None, BeforeValidator(_id_to_str)] = Field(None, alias="companyId")
    employee_id: BambooId = Field(alias="employeeId")
    changed_fields: list[str] = Field(default_factory=list, alias="changedFields")


class BambooEventPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["employee.created", "employee.updated", "employee.deleted"]
    timestamp: datetime | None = None
    data: BambooEventData


class BambooHRSource:
    """Receives BambooHR event-based webhooks; several private keys allow rotation."""

    name = "bamboohr"

    def __init__(self, secrets: Sequence[SecretStr], tolerance_s: int = 300):
        self._secrets = list(secrets)
        self.tolerance_s = tolerance_s

    def parse(self, *, body: bytes, headers: Mapping[str, str], now: datetime) -> HRISEvent:
        sent_at = self._verify(body, headers, now)
        payload = self._validate(decode_json(body))
        occurred_at = _as_utc(payload.timestamp) if payload.timestamp else sent_at
        return assemble_event(
            {
                # The event-based payload has no event or delivery id of its own.
                "event_id": body_digest(body),
                "source": self.name,
                "type": _EVENT_TYPES[payload.type],
                "occurred_at": occurred_at,
                "employee_external_id": payload.data.employee_id,
                "employee": None,
                "changed_fields": payload.data.changed_fields,
            },
            rename={"employee_external_id": "data.employeeId"},
        )

    def _verify(self, body: bytes, headers: Mapping[str, str], now: datetime) -> datetime:
        """Return the verified send time."""
        keys = require_secrets(self.name, self._secrets)
        signature = get_header(headers, SIGNATURE_HEADER)
        timestamp = get_header(headers, TIMESTAMP_HEADER)
        if not signature or not timestamp:
            raise unauthorized(f"Missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header.")
        sent_at = parse_header_timestamp(timestamp)
        check_freshness(sent_at, now, self.tolerance_s, header=TIMESTAMP_HEADER)
        given = signature.strip().lower().encode("utf-8", "replace")
        for key in keys:
            if hmac.compare_digest(sign(key, body, timestamp).encode("ascii"), given):
                return sent_at
        logger.warning("bamboohr webhook refused: signature matches no configured key")
        raise unauthorized(f"{SIGNATURE_HEADER} does not match any configured private key.")

    def _validate(self, document: object) -> BambooEventPayload:
        if isinstance(document, dict) and "employees" in document:
            raise invalid_payload(
                [
                    FieldError(
                        "employees",
                        "field-based (legacy) webhooks batch several employees per delivery; "
                        "configure the webhook as Event-Based so each delivery is one event",
                    )
                ]
            )
        return validate_body(BambooEventPayload, document)


def sign(private_key: str, body: bytes, timestamp: str) -> str:
    """BambooHR's signature: hex HMAC-SHA256 over the raw body followed by the timestamp."""
    message = body + timestamp.encode("utf-8")
    return hmac.new(private_key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def parse_header_timestamp(raw: str) -> datetime:
    """Accept epoch seconds (or milliseconds) and ISO 8601, as the docs only say "the
    timestamp"; anything unreadable is a 400 because the key may well be right."""
    text = raw.strip()
    try:
        if _EPOCH_DIGITS.fullmatch(text):
            value = int(text)
            seconds = value / 1000 if value >= _MILLIS_THRESHOLD else value
            return datetime.fromtimestamp(seconds, tz=UTC)
        if len(text) <= _MAX_ISO_CHARS and text.isascii():
            return _as_utc(datetime.fromisoformat(text))
    except (ValueError, OverflowError, OSError) as exc:
        raise malformed_header(TIMESTAMP_HEADER, f"not a timestamp: {shown(raw)}") from exc
    raise malformed_header(TIMESTAMP_HEADER, f"not a timestamp: {shown(raw)}")


def _as_utc(value: datetime) -> datetime:
    """BambooHR documents its timestamps as UTC, so a missing offset means UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# --- REST client -------------------------------------------------------------------------

EMPLOYEE_FIELDS = (
    "firstName",
    "lastName",
    "preferredName",
    "workEmail",
    "jobTitle",
    "department",
    "location",
    "country",
    "supervisorEId",
    "status",
    "employmentHistoryStatus",
    "hireDate",
    "terminationDate",
    "employeeNumber",
)

# BambooHR returns country *names*; only unambiguous, common ones are mapped. An unknown
# name becomes None rather than a guess, because the country drives compliance curricula.
COUNTRY_CODES: dict[str, str] = {
    "australia": "AU",
    "austria": "AT",
    "belgium": "BE",
    "brazil": "BR",
    "canada": "CA",
    "denmark": "DK",
    "finland": "FI",
    "france": "FR",
    "germany": "DE",
    "india": "IN",
    "ireland": "IE",
    "italy": "IT",
    "japan": "JP",
    "mexico": "MX",
    "netherlands": "NL",
    "new zealand": "NZ",
    "norway": "NO",
    "poland": "PL",
    "portugal": "PT",
    "singapore": "SG",
    "spain": "ES",
    "sweden": "SE",
    "switzerland": "CH",
    "united kingdom": "GB",
    "uk": "GB",
    "great britain": "GB",
    "united states": "US",
    "united states of america": "US",
    "usa": "US",
}

# Which BambooHR field feeds which Employee field, to name the culprit when mapping fails.
_BAMBOO_NAMES = {
    "external_id": "id",
    "email": "workEmail",
    "given_name": "firstName",
    "family_name": "lastName",
    "preferred_name": "preferredName",
    "title": "jobTitle",
    "department": "department",
    "location": "location",
    "country": "country",
    "manager_external_id": "supervisorEId",
    "employment_status": "status",
    "worker_type": "employmentHistoryStatus",
    "hire_date": "hireDate",
    "termination_date": "terminationDate",
}


class BambooHRClient:
    """Reads one employee from the BambooHR REST API (HTTP basic auth: key / "x")."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        http: httpx.Client | None = None,
        *,
        max_attempts: int = 3,
        backoff_s: float = 0.5,
        timeout_s: float = 10.0,
    ):
        self._base_url = base_url.rstrip("/")
        self._auth = httpx.BasicAuth(api_key, "x")
        self._http = http or httpx.Client(timeout=timeout_s)
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s

    def fetch_employee(self, employee_id: str) -> Employee:
        """Raise ``HRISFetchError`` (transient or permanent) instead of returning partial
        data: the worker must either act on the full record or retry/dead-letter."""
        if not _DIGITS.fullmatch(employee_id):
            raise HRISFetchError(f"not a BambooHR employee id: {employee_id!r}", transient=False)
        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, HRISFetchError) and e.transient),
            stop=stop_after_attempt(self._max_attempts),
            wait=wait_exponential(multiplier=self._backoff_s, max=5),
            reraise=True,
        )
        raw = retrying(self._get_once, employee_id)
        return employee_from_bamboohr(employee_id, raw)

    def _get_once(self, employee_id: str) -> dict[str, Any]:
        url = f"{self._base_url}/v1/employees/{employee_id}/"
        try:
            response = self._http.get(
                url,
                params={"fields": ",".join(EMPLOYEE_FIELDS)},
                headers={"Accept": "application/json"},
                auth=self._auth,
            )
        except httpx.TransportError as exc:
            logger.warning("bamboohr fetch of employee %s failed: %s", employee_id, exc)
            raise HRISFetchError(f"network error: {exc}", transient=True) from exc
        _raise_for_status(response, employee_id)
        try:
            document = response.json()
        except ValueError as exc:
            raise HRISFetchError(
                "BambooHR answered 200 with a body that is not JSON",
                transient=False,
                status_code=response.status_code,
            ) from exc
        if not isinstance(document, dict):
            raise HRISFetchError("BambooHR employee is not a JSON object", transient=False)
        return document


def _raise_for_status(response: httpx.Response, employee_id: str) -> None:
    code = response.status_code
    if code < 400:
        return
    transient = code == 429 or code >= 500
    reason = {
        401: "API key rejected",
        403: "API key lacks access to this employee",
        404: f"employee {employee_id} not found",
    }.get(code, response.reason_phrase or "error")
    logger.warning("bamboohr fetch of employee %s answered %s", employee_id, code)
    raise HRISFetchError(f"BambooHR: {reason}", transient=transient, status_code=code)


def employee_from_bamboohr(employee_id: str, raw: Mapping[str, Any]) -> Employee:
    """Map a BambooHR employee to the canonical record; refuse (permanently) rather than
    invent required values such as the work e-mail."""
    fields: dict[str, Any] = {
        "external_id": _text(raw.get("id")) or employee_id,
        "email": _text(raw.get("workEmail")),
        "given_name": _text(raw.get("firstName")),
        "family_name": _text(raw.get("lastName")),
        "preferred_name": _text(raw.get("preferredName")),
        "title": _text(raw.get("jobTitle")),
        "department": _text(raw.get("department")),
        "location": _text(raw.get("location")),
        "country": country_code(_text(raw.get("country"))),
        "manager_external_id": _text(raw.get("supervisorEId")),
        "employment_status": _status(_text(raw.get("status"))),
        "worker_type": _worker_type(_text(raw.get("employmentHistoryStatus"))),
        "hire_date": _date(_text(raw.get("hireDate"))),
        "termination_date": _date(_text(raw.get("terminationDate"))),
    }
    try:
        return Employee.model_validate(fields)
    except ValidationError as exc:
        raise HRISFetchError(
            f"BambooHR employee {employee_id} cannot be mapped: {_describe(exc)}",
            transient=False,
        ) from exc


def _describe(exc: ValidationError) -> str:
    """Name BambooHR's fields and pydantic's messages only: the input values are personal
    data and must not reach logs or the dead-letter queue."""
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        ours = str(err["loc"][0]) if err["loc"] else ""
        problems.append(f"{_BAMBOO_NAMES.get(ours, ours)}: {err['msg']}")
    return "; ".join(problems)


def country_code(name: str | None) -> str | None:
    if not name:
        return None
    if len(name) == 2 and name.isalpha():
        return name.upper()
    return COUNTRY_CODES.get(name.strip().lower())


def _text(value: object) -> str | None:
    """BambooHR sends "" or null for empty fields and numbers for some ids."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _date(value: str | None) -> date | None:
    """BambooHR's empty date is the literal "0000-00-00"."""
    if not value or value.startswith("0000"):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        logger.warning("bamboohr date %r is not ISO 8601; ignored", value)
        return None


def _status(value: str | None) -> EmploymentStatus:
    if (value or "").lower() == "inactive":
        return EmploymentStatus.inactive
    return EmploymentStatus.active


def _worker_type(value: str | None) -> WorkerType:
    """``employmentHistoryStatus`` is a company-editable list ("Full-Time", "Contractor",
    "Intern", ...); match on keywords and default to employee."""
    text = (value or "").lower()
    if "contract" in text or "freelance" in text:
        return WorkerType.contractor
    if "intern" in text:
        return WorkerType.intern
    if "temp" in text or "seasonal" in text:
        return WorkerType.temporary
    return WorkerType.employee
