"""Browser sessions for the reviewer pages: the credential lives in a cookie and is checked
on every request exactly as the API checks a bearer token.

There is no server-side session table on purpose: the cookie holds the API key or OIDC
access token the reviewer pasted, so revoking the key (or the token expiring) ends the
browser session on the next click, with no second place to revoke. The cookie is HttpOnly
(scripts on the page cannot read it), SameSite=Strict (other sites cannot make the browser
send it), limited to ``/ui`` (the JSON API never accepts it) and Secure over https.

Cross-site request forgery is stopped twice for anything that changes state: SameSite=Strict,
and a token derived from the credential that every POST must echo (htmx sends it as a header
set on ``<body>``, forms also carry it as a hidden field); decision endpoints additionally
require the ``HX-Request`` header, which a cross-site HTML form cannot set.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qs, urlencode

from fastapi import Depends, Request, Response
from sqlalchemy.engine import Engine

from api.auth import Principal, Role, authenticate
from api.deps import EngineDep, SettingsDep
from api.problems import ApiError
from core.settings import Settings

log = logging.getLogger(__name__)

COOKIE = "talentsync_ui"
SIGN_IN_COOKIE = "talentsync_ui_signin"
COOKIE_PATH = "/ui"
SIGN_IN_PATH = "/ui/sign-in"
HOME_PATH = "/ui/reviews"
SESSION_MAX_AGE_S = 8 * 3600
"""A working day: an API key does not expire by itself, so the browser forgets it."""
SIGN_IN_FORM_MAX_AGE_S = 1800
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_CREDENTIAL_CHARS = 8192
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 2000
_CSRF_LABEL = b"talentsync-ui-csrf-v1"
_CREDENTIAL = re.compile(r"[\x21-\x7e]+")  # printable ASCII without spaces: keys and JWTs

READ_ROLES = frozenset({Role.reviewer, Role.admin, Role.auditor})
DECIDE_ROLES = frozenset({Role.reviewer, Role.admin})
"""The same split as the JSON API: auditors read, reviewers and admins decide."""
REVEAL_ROLES = frozenset({Role.admin})
"""As ``POST /reviews/{id}/reveal``: only an admin sees what a placeholder stood for."""


class SignInRequiredError(Exception):
    """No usable credential: the browser is sent to the sign-in page."""

    def __init__(self, *, expired: bool) -> None:
        super().__init__("sign-in required")
        self.expired = expired


class UiRefusedError(Exception):
    """A refusal shown to the person in words (403 for roles and forgery checks)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class UiSession:
    principal: Principal
    csrf: str

    @property
    def can_decide(self) -> bool:
        return self.principal.has_any(DECIDE_ROLES)

    @property
    def can_reveal(self) -> bool:
        return self.principal.has_any(REVEAL_ROLES)

    @property
    def role_names(self) -> str:
        return ", ".join(sorted(self.principal.roles)) or "no role"


def csrf_token(credential: str) -> str:
    """Per session and stateless: only someone holding the credential can compute it, and
    the page showing it reveals nothing about the credential."""
    return hmac.new(credential.encode("utf-8"), _CSRF_LABEL, hashlib.sha256).hexdigest()


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


@dataclass(frozen=True)
class StrictCookie:
    """Every cookie the page sets holds a credential or a form token: script must not read it
    (HttpOnly), another site must not send it (SameSite=Strict), and it travels only over
    HTTPS when the page is served that way. Each one's name, path and lifetime live here
    once, so setting and forgetting it cannot disagree about its path."""

    name: str
    path: str
    max_age: int

    def set(self, response: Response, request: Request, value: str) -> None:
        response.set_cookie(
            self.name,
            value,
            max_age=self.max_age,
            path=self.path,
            secure=is_secure(request),
            httponly=True,
            samesite="strict",
        )

    def read(self, request: Request) -> str:
        return request.cookies.get(self.name, "")

    def forget(self, response: Response) -> None:
        response.delete_cookie(self.name, path=self.path)


SESSION_COOKIE = StrictCookie(COOKIE, COOKIE_PATH, SESSION_MAX_AGE_S)
"""The pasted credential, sent with every page under ``/ui``."""
SIGN_IN_FORM_COOKIE = StrictCookie(SIGN_IN_COOKIE, SIGN_IN_PATH, SIGN_IN_FORM_MAX_AGE_S)
"""The sign-in form's token, sent back only to the sign-in page."""


def well_formed(credential: str) -> bool:
    return 0 < len(credential) <= MAX_CREDENTIAL_CHARS and bool(_CREDENTIAL.fullmatch(credential))


def identify(request: Request, credential: str, settings: Settings, engine: Engine) -> Principal:
    """Run the API's own ``authenticate`` on the cookie's credential, so the browser and the
    API can never disagree about who someone is (admin key, API key or OIDC token alike).

    ``authenticate`` reads the ``Authorization`` header; a copy of this request whose only
    credential is the cookie's is the adapter. Raises the API's ``ApiError`` refusals."""
    headers = [(k, v) for k, v in request.scope["headers"] if k.lower() != b"authorization"]
    headers.append((b"authorization", b"Bearer " + credential.encode("ascii")))
    as_bearer = Request({**request.scope, "headers": headers})
    return authenticate(as_bearer, settings, engine, None)


def safe_next(target: str | None) -> str:
    """Only our own pages: an open redirect after sign-in would hand a phisher a trusted
    link."""
    if (
        target
        and target.startswith("/ui/")
        and not target.startswith("//")
        and "\\" not in target
        and not target.startswith(SIGN_IN_PATH)
    ):
        return target
    return HOME_PATH


def sign_in_url(request: Request, *, expired: bool) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    query = {"next": safe_next(here)}
    if expired:
        query["expired"] = "1"
    return f"{SIGN_IN_PATH}?{urlencode(query)}"


def ui_session(request: Request, settings: SettingsDep, engine: EngineDep) -> UiSession:
    credential = SESSION_COOKIE.read(request)
    if not credential:
        raise SignInRequiredError(expired=False)
    if not well_formed(credential):
        raise SignInRequiredError(expired=True)
    try:
        principal = identify(request, credential, settings, engine)
    except ApiError as refused:
        if refused.status in (401, 403):  # 403 here: no credential is configured at all
            log.info("UI session refused: %s", refused.detail)
            raise SignInRequiredError(expired=True) from None
        raise UiRefusedError(refused.status, refused.detail) from None
    if not principal.has_any(READ_ROLES):
        log.info("UI refused %s (%s): no reader role", principal.name, principal.via)
        raise UiRefusedError(
            403,
            f"Signed in as {principal.name}, who has no reviewer, admin or auditor role, "
            "so there is nothing here to show.",
        )
    return UiSession(principal=principal, csrf=csrf_token(credential))


UiSessionDep = Annotated[UiSession, Depends(ui_session)]


async def form_data(request: Request) -> dict[str, list[str]]:
    """The urlencoded body (all htmx sends here), read once with a size cap; multipart
    uploads have no use on these pages, so they are not parsed at all."""
    cached: dict[str, list[str]] | None = getattr(request.state, "ui_form", None)
    if cached is not None:
        return cached
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_FORM_BYTES:
            raise UiRefusedError(413, "That form is too large to be accepted.")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    parsed: dict[str, list[str]] = {}
    if kind == "application/x-www-form-urlencoded":
        text = bytes(body).decode("utf-8", errors="replace")
        try:
            parsed = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
        except ValueError:  # more fields than any page of ours sends
            raise UiRefusedError(413, "That form has too many fields to be accepted.") from None
    request.state.ui_form = parsed
    return parsed


FormDep = Annotated[dict[str, list[str]], Depends(form_data)]


def first(form: Mapping[str, list[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[-1]


def check_csrf(request: Request, session: UiSession, form: Mapping[str, list[str]]) -> None:
    given = request.headers.get(CSRF_HEADER) or first(form, CSRF_FIELD)
    if not given or not hmac.compare_digest(given.encode(), session.csrf.encode()):
        log.warning("UI POST %s without a valid CSRF token", request.url.path)
        raise UiRefusedError(
            403,
            "This request did not come from a TalentSync page (its form token is missing or "
            "out of date). Reload the page and try again.",
        )


def from_our_page(request: Request, session: UiSession, form: Mapping[str, list[str]]) -> None:
    """A state-changing request sent by a page of ours: the htmx header (which a cross-site
    HTML form cannot set) and the CSRF token."""
    if request.headers.get("hx-request") != "true":
        log.warning("UI POST %s without HX-Request", request.url.path)
        raise UiRefusedError(
            403,
            "Decisions are made from the review page itself (its script sends them). "
            "Reload the page and try again.",
        )
    check_csrf(request, session, form)


def decider(request: Request, session: UiSessionDep, form: FormDep) -> UiSession:
    """Who may change a review from the browser: a page of ours used by a reviewer or admin;
    auditors see the pages but every decision answers 403."""
    from_our_page(request, session, form)
    if not session.can_decide:
        raise UiRefusedError(
            403,
            f"You are signed in as {session.principal.name} ({session.role_names}): you can "
            "view reviews but not decide them. Ask a reviewer.",
        )
    return session


DeciderDep = Annotated[UiSession, Depends(decider)]


def revealer(request: Request, session: UiSessionDep, form: FormDep) -> UiSession:
    """Who may reveal hidden personal data from the browser: an admin, from a page of ours
    (a reveal writes to the audit trail, so it is guarded like a decision)."""
    from_our_page(request, session, form)
    if not session.can_reveal:
        log.warning("UI reveal refused for %s (%s)", session.principal.name, session.role_names)
        raise UiRefusedError(
            403,
            f"You are signed in as {session.principal.name} ({session.role_names}): only an "
            "admin can reveal personal data.",
        )
    return session


RevealerDep = Annotated[UiSession, Depends(revealer)]
