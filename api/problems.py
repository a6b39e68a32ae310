"""RFC 9457 problem responses, so every refusal names its field and reason the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tools.hris.errors import FieldError, IntakeError

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldProblem(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] = Field(default_factory=list)


class ApiError(Exception):
    """Raised by routes and dependencies to answer with a problem document; ``headers``
    carry what the status needs besides the body (``WWW-Authenticate`` on a 401)."""

    def __init__(
        self, status: int, title: str, detail: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.headers = dict(headers or {})


def problem_response(
    status: int,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        title=title,
        status=status,
        detail=detail,
        errors=[FieldProblem(field=e.field, reason=e.reason) for e in errors or []],
    )
    return JSONResponse(
        body.model_dump(),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers) if headers else None,
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if part not in ("body", "query", "path"))


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(IntakeError)
    async def _intake(_request: Request, error: IntakeError) -> JSONResponse:
        return problem_response(error.status, error.title, error.detail, error.errors)

    @app.exception_handler(ApiError)
    async def _api(_request: Request, error: ApiError) -> JSONResponse:
        return problem_response(error.status, error.title, error.detail, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(field=_field_path(tuple(e["loc"])) or "request", reason=e["msg"])
            for e in error.errors()
        ]
        detail = "; ".join(f"{e.field}: {e.reason}" for e in errors)
        return problem_response(422, "Invalid request", detail, errors)
