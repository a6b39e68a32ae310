"""`POST /webhooks/{source}`: verify, store, answer. Nothing is processed on this path.

Verifying runs on the event loop (CPU only); storing goes to the process's inbox writer
(group commit, ``core.inbox.group_commit``), so the loop never blocks on the database and
deliveries arriving together share one commit. The answer waits for that commit.

Most deliveries reach ``answer_delivery`` through ``api.webhook_lane`` (the same answer
without FastAPI's per-request machinery); the route below documents the endpoint and
answers what the lane hands on."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response, status
from pydantic import BaseModel

from api.deps import IntakeDep
from api.problems import Problem
from core.db import utcnow
from tools.hris.errors import IntakeError
from tools.hris.intake import WebhookIntake
from tools.hris.sources import SOURCE_NAMES

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
_ASCII_DIGITS = re.compile(r"[0-9]+")


class WebhookReceipt(BaseModel):
    receipt_id: str
    source: str
    event_id: str
    status: Literal["accepted", "duplicate"]


async def _read_body(request: Request, limit: int) -> bytes:
    """Stop reading one byte past the limit, so a huge body costs us no memory."""
    declared = request.headers.get("content-length", "")
    # ASCII digits only (isdigit() also takes '²'), and no int() of an absurd length
    if _ASCII_DIGITS.fullmatch(declared) and (len(declared) > 18 or int(declared) > limit):
        raise IntakeError(413, "Payload too large", f"body exceeds {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise IntakeError(413, "Payload too large", f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/{source}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookReceipt,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The event as the source sends it, signed as the source signs "
            "it (see the README's webhook intake section); read as raw bytes, so the "
            "signature is checked over exactly what arrived.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
    responses={
        200: {"model": WebhookReceipt, "description": "Duplicate delivery: the first receipt."},
        400: {"model": Problem, "description": "Stale/future timestamp or undecodable JSON."},
        401: {"model": Problem, "description": "Missing or invalid signature."},
        404: {"model": Problem, "description": "Unknown source."},
        413: {"model": Problem, "description": "Body over the size limit (256 KiB)."},
        415: {"model": Problem, "description": "Body is not JSON."},
        422: {"model": Problem, "description": "Schema errors, each naming field and reason."},
        503: {"model": Problem, "description": "Not stored (the database failed); send again."},
    },
)
async def receive_webhook(
    source: Annotated[
        str,
        Path(
            description="The sending HRIS; any other name is a 404.",
            json_schema_extra={"enum": list(SOURCE_NAMES)},
        ),
    ],
    request: Request,
    intake: IntakeDep,
) -> Response:
    return await answer_delivery(intake, source, request)


async def answer_delivery(intake: WebhookIntake, source: str, request: Request) -> Response:
    """Read, verify and store one delivery; the receipt as a response (202 new, 200 a
    duplicate), or ``IntakeError`` for the problem handler. The one body of the endpoint,
    whichever way the request came (the route above or ``api.webhook_lane``)."""
    body = await _read_body(request, intake.max_body_bytes)
    receipt = await intake.receive(
        source_name=source, body=body, headers=request.headers, now=utcnow()
    )
    answer = WebhookReceipt(
        receipt_id=receipt.receipt_id,
        source=receipt.source,
        event_id=receipt.event_id,
        status="duplicate" if receipt.duplicate else "accepted",
    )
    return Response(
        answer.model_dump_json(),
        status_code=status.HTTP_200_OK if receipt.duplicate else status.HTTP_202_ACCEPTED,
        media_type="application/json",
    )
