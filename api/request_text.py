"""One rule for every route's path and query text: no U+0000.

A NUL reaches us as ``%00`` in a path or a query string, is a valid Python string all the
way down, and only PostgreSQL refuses it, at the INSERT or SELECT that binds it: a 500
from deep inside a route (``GET /reviews/a%00b``, ``DELETE /admin/employees/a%00b``,
``GET /audit?rule=%00``). No id, filter or name of ours can contain one, so it is refused
here, once, for every route (the reviewer pages too), before anything touches the
database. Bodies are checked where they are decoded (``tools.hris.source.decode_json``;
pydantic models of the API refuse it per field).
"""

from __future__ import annotations

from fastapi import Request

from api.problems import ApiError
from tools.hris.errors import FieldError

NUL = "\x00"
REASON = "contains U+0000 (NUL), which no parameter accepts"


async def refuse_nul_characters(request: Request) -> None:
    """An app-wide dependency: 422 naming each parameter that holds a NUL. ``async``: it
    runs for every request, and a plain ``def`` would cost a thread-pool hop each time."""
    errors = [
        FieldError(name or "query", REASON)
        for name, value in request.query_params.multi_items()
        if NUL in name or NUL in value
    ]
    if NUL in request.scope.get("path", ""):
        errors.insert(0, FieldError("path", REASON))
    if errors:
        raise ApiError.invalid(errors)
