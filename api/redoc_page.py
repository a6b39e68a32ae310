"""``/redoc`` served whole by the service, so it works (and calls no one) without internet.

fastapi-offline serves the ReDoc bundle locally, but the bundle itself fetches its
"powered by" badge from cdn.redoc.ly, with no option to turn that off (Redocly/redoc#2108).
So this page serves the same bundle with that one URL pointed at a small badge served here.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse, Response

CDN_BADGE = "https://cdn.redoc.ly/redoc/logo-mini.svg"
ASSETS = "/redoc-assets"
FAVICON = "/static-offline-docs/favicon.png"  # fastapi-offline's own mount
BADGE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#8a8a8a"/></svg>'
)


@cache
def redoc_bundle() -> str:
    """The packaged bundle with its one outside URL made local (read once, 1 MB)."""
    bundle = files("fastapi_offline").joinpath("static", "redoc.standalone.js")
    return bundle.read_text(encoding="utf-8").replace(CDN_BADGE, f"{ASSETS}/badge.svg")


def install_redoc(app: FastAPI, *, path: str = "/redoc") -> None:
    """Call with an app built with ``redoc_url=None``."""
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(path, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{FAVICON}",
            with_google_fonts=False,
        )

    @app.get(f"{ASSETS}/redoc.standalone.js", include_in_schema=False)
    async def redoc_js() -> Response:
        return Response(redoc_bundle(), media_type="text/javascript")

    @app.get(f"{ASSETS}/badge.svg", include_in_schema=False)
    async def redoc_badge() -> Response:
        return Response(BADGE_SVG, media_type="image/svg+xml")
