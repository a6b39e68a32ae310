"""RFC 9457 problem responses, so every refusal names its field and reason the same way."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

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
    carry what the status needs besides the body (``WWW-Authenticate`` on a 401), and
    ``errors`` name the fields at fault."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        errors: list[FieldError] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.headers = dict(headers or {})
        self.errors = list(errors or [])

    @classmethod
    def invalid(cls, errors: list[FieldError]) -> ApiError:
        """A 422 like a validation error's: every field and its reason."""
        detail = "; ".join(f"{e.field}: {e.reason}" for e in errors)
        return cls(422, "Invalid request", detail, errors=errors)


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


def intake_problem(error: IntakeError) -> JSONResponse:
    """A refused webhook delivery (``tools.hris.errors``) as its problem document."""
    return problem_response(error.status, error.title, error.detail, error.errors)


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ".".join(str(part) for part in loc if part not in ("body", "query", "path"))
    return path or ("body" if loc[:1] == ("body",) else "request")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _routing_detail(request: Request, error: HTTPException) -> str:
    """Starlette's routing refusals carry only the status phrase as detail; say what it
    means for this request (without echoing the caller's path)."""
    if error.detail and error.detail != _phrase(error.status_code):
        return str(error.detail)
    if error.status_code == 404:
        return "no endpoint at this path; the API is described at /docs and /openapi.json"
    if error.status_code == 405:
        allowed = next((v for k, v in (error.headers or {}).items() if k.lower() == "allow"), "")
        return f"{request.method} is not allowed here; allowed: {allowed or 'none'}"
    return _phrase(error.status_code)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def _routing(request: Request, error: HTTPException) -> JSONResponse:
        """Routing's own 404/405 (and any HTTPException) as problems, like every other
        refusal, with their headers (``Allow`` on a 405) kept."""
        detail = _routing_detail(request, error)
        # FastAPI's only 400 of its own: a request body it could not parse
        errors = [FieldError("body", detail)] if error.status_code == 400 else None
        return problem_response(
            error.status_code,
            _phrase(error.status_code),
            detail,
            errors,
            headers=error.headers,
        )

    @app.exception_handler(IntakeError)
    async def _intake(_request: Request, error: IntakeError) -> JSONResponse:
        return intake_problem(error)

    @app.exception_handler(ApiError)
    async def _api(_request: Request, error: ApiError) -> JSONResponse:
        return problem_response(
            error.status, error.title, error.detail, error.errors, headers=error.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(
                # a body that is not JSON at all has the parser's offset as its "field"
                field="body" if e["type"] == "json_invalid" else _field_path(tuple(e["loc"])),
                reason=str(e["msg"]).removeprefix("Value error, "),
            )
            for e in error.errors()
        ]
        invalid = ApiError.invalid(errors)
        return problem_response(422, invalid.title, invalid.detail, errors)
