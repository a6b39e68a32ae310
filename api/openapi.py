"""The OpenAPI document says what the API really answers, so a client generated from it (or
a tester such as schemathesis) expects the refusals it will get.

FastAPI documents every error under ``application/json`` and adds its own 422 schema
(``HTTPValidationError``), while the API answers every refusal as an RFC 9457 problem
(``application/problem+json``, ``api.problems``). And a route's auth dependency adds a
``security`` requirement but no 401/403. Both are put right here, once, for every route,
so a new route cannot forget them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema

from api.problems import PROBLEM_MEDIA_TYPE, Problem

REF_PREFIX = "#/components/schemas/"
PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"{REF_PREFIX}Problem"}}}
AUTH_RESPONSES: dict[str, dict[str, Any]] = {
    "401": {
        "description": "No credentials, or credentials that do not authenticate.",
        "headers": {
            "WWW-Authenticate": {
                "description": "The Bearer challenge (RFC 6750) with the reason.",
                "schema": {"type": "string"},
            }
        },
    },
    "403": {
        "description": "Authenticated without a role this route takes, or API access "
        "disabled because no credential is configured.",
    },
    "503": {
        "description": "OIDC only: the identity provider's signing keys cannot be fetched.",
    },
}
UNPARSABLE_BODY = {"description": "The body cannot be parsed (not UTF-8 JSON)."}
INVALID_REQUEST = {
    "description": "A parameter or body field does not fit (each named in errors[] with "
    "its reason); on every route, since any query may carry a NUL (api.request_text)."
}
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _is_error(status: str) -> bool:
    return status[:1] in ("4", "5")


def describe_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Error responses as problem documents; 401/403/503 on every route that needs
    credentials, 400 on every route with a body (FastAPI's answer to one that is not
    UTF-8 JSON), 422 everywhere; ``document`` is changed in place and returned."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem_defs = models_json_schema(
        [(Problem, "serialization")], ref_template=REF_PREFIX + "{model}"
    )[1]["$defs"]
    for name, definition in problem_defs.items():
        schemas.setdefault(name, definition)
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses: dict[str, dict[str, Any]] = operation.setdefault("responses", {})
            if operation.get("security"):
                for status, documented in AUTH_RESPONSES.items():
                    responses.setdefault(status, dict(documented))
            if "requestBody" in operation:
                responses.setdefault("400", dict(UNPARSABLE_BODY))
            responses.setdefault("422", dict(INVALID_REQUEST))
            for status, response in responses.items():
                if _is_error(status):
                    response["content"] = PROBLEM_CONTENT
    for name in FASTAPI_VALIDATION_SCHEMAS:  # unused now, unless a route names them
        others = {key: value for key, value in schemas.items() if key != name}
        if f"{REF_PREFIX}{name}" not in _refs(document["paths"]) | _refs(others):
            schemas.pop(name, None)
    return document


def _refs(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node))
    return set()


def install_openapi(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so ``/openapi.json`` and ``/docs`` serve the corrected document."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_problems(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
