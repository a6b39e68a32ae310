"""The reviewer web pages under ``/ui``: server-rendered HTML with htmx, served by the app
itself (no CDN), signed in with the same credentials as the API.

``install_ui(app)`` is the one call ``create_app`` makes: the pages, their static files and
the handlers that turn "sign in first" and refusals into a redirect or a readable message
(the JSON API keeps its problem documents; these exceptions are raised only here).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.ui.pages import Banner, flash, render
from api.ui.reveal import router as reveal_router
from api.ui.routes import router
from api.ui.session import SESSION_COOKIE, SignInRequiredError, UiRefusedError, sign_in_url
from api.ui.sign_in import router as sign_in_router

__all__ = ["install_ui"]

STATIC = Path(__file__).parent / "static"


async def _sign_in_required(request: Request, error: Exception) -> Response:
    """A page load is redirected; an htmx request gets ``HX-Redirect`` so the whole page
    goes to sign-in rather than the form being swapped into a corner of it."""
    expired = isinstance(error, SignInRequiredError) and error.expired
    target = sign_in_url(request, expired=expired)
    response: Response
    if request.headers.get("hx-request") == "true":
        response = Response(status_code=401, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    if expired:
        SESSION_COOKIE.forget(response)
    return response


async def _refused(request: Request, error: Exception) -> Response:
    """Refusals from the checks before a view runs (roles, forgery): shown in the page's
    message area for htmx, as a page otherwise."""
    status = error.status if isinstance(error, UiRefusedError) else 500
    message = error.message if isinstance(error, UiRefusedError) else "Something went wrong."
    if request.headers.get("hx-request") == "true":
        return flash(Banner(False, message), status=status)
    return render(
        "error.html", {"session": None, "status": status, "message": message}, status=status
    )


def install_ui(app: FastAPI) -> None:
    app.include_router(sign_in_router)
    app.include_router(router)
    app.include_router(reveal_router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.add_exception_handler(SignInRequiredError, _sign_in_required)
    app.add_exception_handler(UiRefusedError, _refused)
