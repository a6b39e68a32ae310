"""Signing in and out of the reviewer pages: the credential pasted once becomes an
HttpOnly cookie, checked on every request exactly as the API checks a bearer token
(``api.ui.session``).
"""

from __future__ import annotations

import logging
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import EngineDep, SettingsDep
from api.problems import ApiError
from api.ui import session as ui
from api.ui.pages import render
from api.ui.session import FormDep, first

log = logging.getLogger(__name__)

router = APIRouter(prefix="/ui", include_in_schema=False)

SIGN_IN_MESSAGES = {
    "expired": "Your sign-in is no longer valid (expired, revoked or changed). Sign in again.",
    "signed_out": "You are signed out.",
}


def _sign_in_page(
    request: Request, *, next_path: str, message: str | None, error: str | None, status: int
) -> HTMLResponse:
    """The form carries a random token that must come back with the same value as its
    cookie, so another site cannot sign a browser in under someone else's key."""
    form_token = secrets.token_urlsafe(24)
    response = render(
        "sign_in.html",
        {
            "session": None,
            "next": next_path,
            "form_token": form_token,
            "message": message,
            "error": error,
        },
        status=status,
    )
    ui.SIGN_IN_FORM_COOKIE.set(response, request, form_token)
    return response


def _sign_in_again(request: Request, next_path: str, error: str, status: int) -> HTMLResponse:
    """The form once more, saying why the sign-in did not go through."""
    return _sign_in_page(request, next_path=next_path, message=None, error=error, status=status)


@router.get("/sign-in")
def sign_in_form(request: Request) -> HTMLResponse:
    params = request.query_params
    message = next((SIGN_IN_MESSAGES[k] for k in SIGN_IN_MESSAGES if params.get(k)), None)
    return _sign_in_page(
        request, next_path=ui.safe_next(params.get("next")), message=message, error=None, status=200
    )


@router.post("/sign-in")
def sign_in(request: Request, form: FormDep, settings: SettingsDep, engine: EngineDep) -> Response:
    next_path = ui.safe_next(first(form, "next"))
    expected = ui.SIGN_IN_FORM_COOKIE.read(request)
    given = first(form, "form_token")
    if not expected or not secrets.compare_digest(expected.encode(), given.encode()):
        return _sign_in_again(
            request,
            next_path,
            "The sign-in form had expired. Paste your key again and sign in.",
            403,
        )
    credential = first(form, "credential").strip()
    if not ui.well_formed(credential):
        return _sign_in_again(
            request,
            next_path,
            "Paste an API key (tsk_...) or an access token from your identity provider.",
            400,
        )
    try:
        principal = ui.identify(request, credential, settings, engine)
    except ApiError as refused:
        log.info("UI sign-in refused: %s", refused.detail)
        return _sign_in_again(
            request, next_path, f"Sign-in refused: {refused.detail}.", refused.status
        )
    if not principal.has_any(ui.READ_ROLES):
        return _sign_in_again(
            request, next_path, f"{principal.name} has no reviewer, admin or auditor role.", 403
        )
    log.info("UI sign-in: %s via %s", principal.name, principal.via)
    response = RedirectResponse(next_path, status_code=303)
    ui.SESSION_COOKIE.set(response, request, credential)
    ui.SIGN_IN_FORM_COOKIE.forget(response)
    return response


@router.post("/sign-out")
def sign_out(request: Request, form: FormDep) -> RedirectResponse:
    """Forgets the credential in this browser; it stays valid elsewhere (revoke the key for
    that). Checked against forgery, or any site could sign a reviewer out."""
    credential = ui.SESSION_COOKIE.read(request)
    given = request.headers.get(ui.CSRF_HEADER) or first(form, ui.CSRF_FIELD)
    if credential and not secrets.compare_digest(
        given.encode(), ui.csrf_token(credential).encode()
    ):
        raise ui.UiRefusedError(403, "Sign-out must be sent from a TalentSync page.")
    response = RedirectResponse(f"{ui.SIGN_IN_PATH}?signed_out=1", status_code=303)
    ui.SESSION_COOKIE.forget(response)
    return response
