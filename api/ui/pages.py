"""Rendering for the reviewer pages: the template environment, the security headers every
page carries, and the banner that reports an action's outcome.

Apart from the routes so that every router of ``/ui`` (the queue and reviews, signing in,
the admin's reveal) answers through the same escaping and the same headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from api.ui.present import markdown_lite
from core.db import as_utc

TEMPLATES = Path(__file__).parent / "templates"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""Everything from this app and nothing inline: a value that slipped past escaping still
could not run, and the pages load nothing from elsewhere."""
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Vary": "Cookie, HX-Request, HX-Target",
}

templates = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["markdown"] = markdown_lite


def _utc(moment: datetime | None) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC") if moment is not None else ""


def _iso(moment: datetime | None) -> str:
    return as_utc(moment).isoformat() if moment is not None else ""


templates.filters["utc"] = _utc
templates.filters["iso"] = _iso


def render(
    name: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    html = templates.get_template(name).render(**context)
    response = HTMLResponse(html, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    response.headers.update(headers or {})
    return response


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


@dataclass(frozen=True)
class Banner:
    """The outcome of an action, in words; ``ok`` picks the colour and the ARIA role."""

    ok: bool
    text: str


def flash(banner: Banner, *, status: int) -> HTMLResponse:
    """A message for the page's message area, wherever the htmx request meant to swap."""
    return render(
        "_flash.html",
        {"banner": banner},
        status=status,
        headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
    )
