"""Who is calling and what they may do: bearer authentication and role checks for the API.

Every credential arrives as ``Authorization: Bearer ...``:

* an OIDC token (a JWT) from the company's identity provider, for people who sign in with
  SSO: verified against the provider's JWKS, its issuer, audience and expiry, with roles
  read from a claim;
* an API key (``tsk_...``, ``talentsync keys create``), for scripts and people without SSO;
* the admin key from settings, the bootstrap credential that works before anything else
  is set up (and for recovery); it is always an admin.

Roles are not ranked: an endpoint names the roles it takes (``ReviewerDep`` takes reviewers
and admins, ``AuditorDep`` auditors and admins), so an auditor's read-only access never
grows into approving proposals by accident. Tokens never reach a log line: refusals are
logged with their reason only.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jwt import PyJWKClient
from sqlalchemy.engine import Engine

from api.deps import EngineDep, SettingsDep
from api.problems import ApiError
from core.api_keys import (
    KeyRejectedError,
    Principal,
    Role,
    Via,
    authenticate_key,
    has_active_keys,
    looks_like_key,
)
from core.settings import Settings

__all__ = [
    "AdminDep",
    "AuditorDep",
    "Principal",
    "PrincipalDep",
    "ReviewerDep",
    "Role",
    "Via",
    "authenticate",
    "require_admin",
    "require_auditor",
    "require_reviewer",
    "require_roles",
]

log = logging.getLogger(__name__)

REALM = "talentsync"
ALLOWED_ALGORITHMS = frozenset({"RS256", "ES256"})
"""Asymmetric only: with HS256 allowed, a public key from the JWKS could be used as an HMAC
secret to forge tokens (algorithm confusion), and ``none`` would need no key at all."""
ADMIN_KEY_PRINCIPAL = "admin-key"
JWKS_CACHE_S = 300.0
JWKS_TIMEOUT_S = 5.0


# --- refusals ---------------------------------------------------------------------------


def _quoted(text: str) -> str:
    """A safe quoted-string for ``WWW-Authenticate``: printable ASCII without quotes or
    backslashes, since header values are latin-1 on the wire and a caller's name (from a
    key or a token) may be anything."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in text)


def _shown(value: object) -> str:
    """A value taken from an unverified token, echoed only if it is short and plain, so a
    crafted header cannot write into our logs or responses."""
    text = str(value)
    return text if re.fullmatch(r"[A-Za-z0-9_-]{1,16}", text) else "(unprintable)"


def _unauthorized(reason: str, *, missing: bool = False) -> ApiError:
    """401 with the RFC 6750 challenge; a request with no credentials gets no error code."""
    challenge = f'Bearer realm="{REALM}"'
    if not missing:
        challenge += f', error="invalid_token", error_description="{_quoted(reason)}"'
    return ApiError(401, "Unauthorized", reason, headers={"WWW-Authenticate": challenge})


def _forbidden(principal: Principal, allowed: frozenset[Role]) -> ApiError:
    needed = " or ".join(sorted(allowed))
    held = ", ".join(sorted(principal.roles)) or "no role"
    detail = f"requires role {needed}; {principal.name} has {held}"
    challenge = (
        f'Bearer realm="{REALM}", error="insufficient_scope", error_description="{_quoted(detail)}"'
    )
    return ApiError(403, "Forbidden", detail, headers={"WWW-Authenticate": challenge})


def _disabled() -> ApiError:
    return ApiError(
        403,
        "API access disabled",
        "no credentials are configured: set TALENTSYNC_ADMIN_API_KEY (bootstrap admin), "
        "create an API key with `talentsync keys create`, or set TALENTSYNC_OIDC_JWKS_URL",
    )


def _access_disabled(settings: Settings, engine: Engine) -> bool:
    """Nothing could ever authenticate: say so (403) instead of "wrong credentials" (401)."""
    return (
        settings.admin_api_key is None
        and settings.oidc_jwks_url is None
        and not has_active_keys(engine)
    )


# --- OIDC -------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _jwks_client(url: str) -> PyJWKClient:
    """One client per JWKS URL for the process: it caches the key set for five minutes and
    refetches early (at most every 30 s) when a token names a key it has not seen, which is
    how a provider's key rotation reaches us."""
    return PyJWKClient(url, lifespan=JWKS_CACHE_S, timeout=JWKS_TIMEOUT_S)


def looks_like_jwt(token: str) -> bool:
    """Three dot-separated parts; the signature may be empty (``alg: none``), so that such
    a token is refused for its algorithm rather than as an unknown credential."""
    parts = token.split(".")
    return len(parts) == 3 and all(parts[:2])


def _claim(claims: Mapping[str, Any], name: str) -> object:
    """The claim called ``name``, or, when there is none, the nested claim its dots walk
    (``realm_access.roles`` in Keycloak); namespaced claim names like Auth0's contain dots
    themselves, hence the literal lookup first."""
    if name in claims:
        return claims[name]
    node: object = claims
    for part in name.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def roles_from_claim(value: object) -> frozenset[Role]:
    """Role names from a list or a space/comma separated string, case-insensitively; names
    that are not ours (an IdP sends many) are ignored."""
    if isinstance(value, str):
        names: list[str] = re.split(r"[\s,]+", value)
    elif isinstance(value, list | tuple):
        names = [item for item in value if isinstance(item, str)]
    else:
        names = []
    known = {role.value: role for role in Role}
    return frozenset(known[n.strip().lower()] for n in names if n.strip().lower() in known)


def _signing_key(url: str, kid: str) -> jwt.PyJWK:
    try:
        client = _jwks_client(url)
        client.get_signing_keys()  # cached; surfaces an unreachable or broken JWKS as such
    except jwt.PyJWKClientConnectionError:
        log.warning("JWKS at %s is unreachable; OIDC tokens cannot be verified", url)
        raise ApiError(
            503, "Identity provider unavailable", "the token signing keys could not be fetched"
        ) from None
    except (jwt.PyJWKClientError, jwt.PyJWKSetError) as error:
        log.error("JWKS at %s is unusable: %s", url, error)
        raise ApiError(
            503, "Identity provider unavailable", "the identity provider's JWKS is unusable"
        ) from None
    try:
        return client.get_signing_key(kid)
    except jwt.PyJWKClientConnectionError:
        raise ApiError(
            503, "Identity provider unavailable", "the token signing keys could not be fetched"
        ) from None
    except jwt.PyJWKClientError:
        raise _unauthorized("signing key not found (unknown kid)") from None


def _decode(token: str, key: jwt.PyJWK, algorithm: str, settings: Settings) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key.key,
            algorithms=[algorithm],
            audience=settings.oidc_audience,
            issuer=settings.oidc_issuer,
            leeway=settings.oidc_leeway_s,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("token expired") from None
    except jwt.ImmatureSignatureError:
        raise _unauthorized("token not yet valid") from None
    except jwt.InvalidIssuerError:
        raise _unauthorized("issuer mismatch") from None
    except jwt.InvalidAudienceError:
        raise _unauthorized("audience mismatch") from None
    except jwt.MissingRequiredClaimError as error:
        raise _unauthorized(f"token has no {error.claim} claim") from None
    except jwt.InvalidSignatureError:
        raise _unauthorized("signature invalid") from None
    except jwt.InvalidAlgorithmError:
        raise _unauthorized(f"algorithm {algorithm} not allowed") from None
    except jwt.DecodeError:
        raise _unauthorized("malformed token") from None
    except jwt.PyJWTError as error:  # iat in the future, bad key material, ...
        raise _unauthorized(f"invalid token ({type(error).__name__})") from None
    return claims


def verify_oidc_token(token: str, settings: Settings) -> Principal:
    """The principal of a valid OIDC token; a 401 problem naming what is wrong otherwise.

    The algorithm is checked before any key is fetched, and must match the key the
    ``kid`` names, so a token cannot pick how it is verified.
    """
    url = settings.oidc_jwks_url
    if url is None:
        raise _unauthorized("OIDC tokens are not accepted (TALENTSYNC_OIDC_JWKS_URL is unset)")
    if not settings.oidc_issuer or not settings.oidc_audience:
        log.error("TALENTSYNC_OIDC_JWKS_URL is set without TALENTSYNC_OIDC_ISSUER/AUDIENCE")
        raise ApiError(
            503,
            "Authentication misconfigured",
            "TALENTSYNC_OIDC_ISSUER and TALENTSYNC_OIDC_AUDIENCE must be set with "
            "TALENTSYNC_OIDC_JWKS_URL",
        )
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _unauthorized("malformed token") from None
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in ALLOWED_ALGORITHMS:
        raise _unauthorized(f"algorithm {_shown(algorithm)} not allowed (RS256 or ES256 only)")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _unauthorized("token header has no kid")
    key = _signing_key(url, kid)
    if key.algorithm_name != algorithm:
        raise _unauthorized(f"algorithm {algorithm} does not match the signing key")
    claims = _decode(token, key, algorithm, settings)

    name = claims.get(settings.oidc_name_claim) or claims.get("sub")
    if not isinstance(name, str) or not name.strip():
        raise _unauthorized(f"token has neither a {settings.oidc_name_claim} nor a sub claim")
    roles = roles_from_claim(_claim(claims, settings.oidc_roles_claim))
    return Principal(name=name.strip(), roles=roles, via="oidc")


# --- the dependency ---------------------------------------------------------------------


def _bearer(authorization: str | None) -> str | None:
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("use the Bearer scheme: Authorization: Bearer <token>")
    return token.strip()


def _identify(token: str, settings: Settings, engine: Engine) -> Principal:
    # The admin key is an exact match checked first: it is an arbitrary string and may
    # itself contain dots, so it must never be mistaken for a JWT.
    admin_key = settings.admin_api_key
    if admin_key is not None and hmac.compare_digest(
        token.encode(), admin_key.get_secret_value().encode()
    ):
        return Principal(name=ADMIN_KEY_PRINCIPAL, roles=frozenset({Role.admin}), via="admin_key")
    if looks_like_key(token):
        try:
            return authenticate_key(engine, token)
        except KeyRejectedError as rejected:
            raise _unauthorized(rejected.reason) from None
    if looks_like_jwt(token):
        return verify_oidc_token(token, settings)
    raise _unauthorized("unknown bearer token (not an API key, OIDC token or the admin key)")


_bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An OIDC token, an API key (tsk_...) or the admin key.",
)


def authenticate(
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer_scheme)],
) -> Principal:
    """Any authenticated caller, or a 401 saying what was wrong with the credentials.

    The header is read here rather than from ``HTTPBearer`` (which only documents the
    scheme in OpenAPI), so that a wrong scheme gets its own explanation.
    """
    try:
        token = _bearer(request.headers.get("authorization"))
        if token is None:
            raise _unauthorized("bearer credentials required", missing=True)
        principal = _identify(token, settings, engine)
    except ApiError as refused:
        if refused.status == 401 and _access_disabled(settings, engine):
            raise _disabled() from None
        log.info("refused credentials: %s", refused.detail)
        raise
    log.debug("authenticated %s via %s", principal.name, principal.via)
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets through callers holding any of ``roles`` (403 otherwise)."""
    allowed = frozenset(roles)

    def check(principal: PrincipalDep) -> Principal:
        if not principal.has_any(allowed):
            needed = " or ".join(sorted(allowed))
            log.info("refused %s (%s): needs %s", principal.name, principal.via, needed)
            raise _forbidden(principal, allowed)
        return principal

    return check


require_admin = require_roles(Role.admin)
require_reviewer = require_roles(Role.reviewer, Role.admin)
require_auditor = require_roles(Role.auditor, Role.admin)

AdminDep = Annotated[Principal, Depends(require_admin)]
ReviewerDep = Annotated[Principal, Depends(require_reviewer)]
AuditorDep = Annotated[Principal, Depends(require_auditor)]
