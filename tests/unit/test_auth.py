"""Bearer authentication and roles over HTTP, against the real app.

OIDC tokens are signed with PyJWT by RSA and EC keys made here, and verified against a JWKS
served by a real HTTP server on an ephemeral port, as an identity provider would serve it.
The reviewer and auditor dependencies are exercised through a tiny router mounted in the
test app, apart from the review and audit routes that use them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pydantic import SecretStr

from api.app import create_app
from api.auth import AdminDep, AuditorDep, PrincipalDep, ReviewerDep, Role, roles_from_claim
from core import api_keys
from core.settings import Settings

ADMIN_KEY = "bootstrap.admin.key"  # dots on purpose: never mistaken for a JWT
ISSUER = "https://idp.example.test/realms/acme"
AUDIENCE = "talentsync"
ADMIN_ENDPOINT = "/admin/inbox/counts"


# --- an identity provider: keys and a JWKS over HTTP -------------------------------------


@dataclass
class IdentityProvider:
    url: str
    rsa_key: rsa.RSAPrivateKey
    ec_key: ec.EllipticCurvePrivateKey
    rogue_key: rsa.RSAPrivateKey  # never published
    requests: list[str] = field(default_factory=list)

    def token(
        self,
        *,
        key: str = "rsa",
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
        omit: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "0f6c2a",
            "preferred_username": "ana",
            "iat": now,
            "exp": now + 300,
        }
        payload.update(claims)
        for name in omit:
            payload.pop(name, None)
        keys: dict[str, tuple[rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, str, str]] = {
            "rsa": (self.rsa_key, "RS256", "rsa-1"),
            "ec": (self.ec_key, "ES256", "ec-1"),
            "rogue": (self.rogue_key, "RS256", "rogue-1"),
        }
        signing, algorithm, default_kid = keys[key]
        return jwt.encode(
            payload,
            signing,
            algorithm=algorithm,
            headers={"kid": kid or default_kid, **(headers or {})},
        )


def _jwk(public: Any, kid: str, algorithm: type[RSAAlgorithm] | type[ECAlgorithm]) -> Any:
    jwk = algorithm.to_jwk(public, as_dict=True)
    jwk.update({"kid": kid, "use": "sig"})
    return jwk


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rogue_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    document = json.dumps(
        {
            "keys": [
                _jwk(rsa_key.public_key(), "rsa-1", RSAAlgorithm),
                _jwk(ec_key.public_key(), "ec-1", ECAlgorithm),
            ]
        }
    ).encode()
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            if self.path != "/jwks.json":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield IdentityProvider(
            url=f"http://127.0.0.1:{server.server_address[1]}/jwks.json",
            rsa_key=rsa_key,
            ec_key=ec_key,
            rogue_key=rogue_key,
            requests=requests,
        )
    finally:
        server.shutdown()
        server.server_close()


# --- the app ------------------------------------------------------------------------------


def _probe_router() -> APIRouter:
    router = APIRouter(prefix="/_probe")

    @router.get("/whoami")
    def whoami(principal: PrincipalDep) -> dict[str, Any]:
        return {"name": principal.name, "roles": sorted(principal.roles), "via": principal.via}

    @router.get("/reviewer")
    def reviewer(principal: ReviewerDep) -> dict[str, str]:
        return {"name": principal.name}

    @router.get("/auditor")
    def auditor(principal: AuditorDep) -> dict[str, str]:
        return {"name": principal.name}

    @router.get("/admin")
    def admin(principal: AdminDep) -> dict[str, str]:
        return {"name": principal.name}

    return router


def _client(tmp_path: Path, **overrides: Any) -> TestClient:
    settings = Settings(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/auth.db", **overrides)
    app: FastAPI = create_app(settings)
    app.include_router(_probe_router())
    return TestClient(app)


@pytest.fixture
def client(tmp_path: Path, idp: IdentityProvider) -> Iterator[TestClient]:
    with _client(
        tmp_path,
        admin_api_key=SecretStr(ADMIN_KEY),
        oidc_jwks_url=idp.url,
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
    ) as test_client:
        yield test_client


def _get(client: TestClient, path: str, token: str | None = None) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    return client.get(path, headers=headers)


def _refused(response: Any, status: int, detail: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]
    if status == 401:
        assert response.headers["www-authenticate"].startswith('Bearer realm="talentsync"')


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned_token(header: dict[str, Any], payload: dict[str, Any]) -> tuple[str, str]:
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(payload).encode())
    return head, body


def _claims() -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "mallory", "roles": ["admin"], "exp": now + 300}


# --- OIDC ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        ("admin", ["/_probe/admin", "/_probe/reviewer", "/_probe/auditor", ADMIN_ENDPOINT], []),
        ("reviewer", ["/_probe/reviewer"], ["/_probe/admin", "/_probe/auditor", ADMIN_ENDPOINT]),
        ("auditor", ["/_probe/auditor"], ["/_probe/admin", "/_probe/reviewer", ADMIN_ENDPOINT]),
    ],
)
def test_a_valid_token_grants_exactly_its_role(
    client: TestClient,
    idp: IdentityProvider,
    role: str,
    allowed: list[str],
    refused: list[str],
) -> None:
    token = idp.token(roles=[role])

    me = _get(client, "/_probe/whoami", token)
    assert me.status_code == 200, me.text
    assert me.json() == {"name": "ana", "roles": [role], "via": "oidc"}
    for path in allowed:
        assert _get(client, path, token).status_code == 200, path
    for path in refused:
        response = _get(client, path, token)
        assert response.status_code == 403, path
        assert "requires role" in response.json()["detail"]


def test_an_ec_signed_token_is_accepted(client: TestClient, idp: IdentityProvider) -> None:
    response = _get(client, ADMIN_ENDPOINT, idp.token(key="ec", roles=["admin"]))
    assert response.status_code == 200, response.text


def test_roles_match_case_insensitively_from_a_string_or_a_nested_claim(
    tmp_path: Path, idp: IdentityProvider
) -> None:
    assert roles_from_claim("Reviewer, AUDITOR  owner") == {Role.reviewer, Role.auditor}
    assert roles_from_claim(["Admin", 7, "offline_access"]) == {Role.admin}
    assert roles_from_claim(None) == frozenset()
    with _client(
        tmp_path,
        oidc_jwks_url=idp.url,
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_roles_claim="realm_access.roles",
        oidc_name_claim="email",
    ) as client:
        token = idp.token(realm_access={"roles": ["Reviewer", "uma_authorization"]})
        me = _get(client, "/_probe/whoami", token).json()
    assert me == {"name": "0f6c2a", "roles": ["reviewer"], "via": "oidc"}  # no email: sub


def test_an_expired_token_is_refused(client: TestClient, idp: IdentityProvider) -> None:
    past = int(time.time()) - 3600
    token = idp.token(roles=["admin"], iat=past - 300, exp=past)
    response = _get(client, ADMIN_ENDPOINT, token)
    _refused(response, 401, "token expired")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_token_just_past_exp_is_within_the_leeway(
    client: TestClient, idp: IdentityProvider
) -> None:
    token = idp.token(roles=["admin"], exp=int(time.time()) - 5)
    assert _get(client, ADMIN_ENDPOINT, token).status_code == 200


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"iss": "https://evil.example.test/"}, "issuer mismatch"),
        ({"aud": "another-app"}, "audience mismatch"),
    ],
)
def test_a_token_for_someone_else_is_refused(
    client: TestClient, idp: IdentityProvider, claims: dict[str, Any], detail: str
) -> None:
    _refused(_get(client, ADMIN_ENDPOINT, idp.token(roles=["admin"], **claims)), 401, detail)


@pytest.mark.parametrize("claim", ["exp", "aud", "iss"])
def test_a_token_without_a_required_claim_is_refused(
    client: TestClient, idp: IdentityProvider, claim: str
) -> None:
    token = idp.token(roles=["admin"], omit=(claim,))
    _refused(_get(client, ADMIN_ENDPOINT, token), 401, f"no {claim} claim")


def test_a_token_signed_by_an_unpublished_key_is_refused(
    client: TestClient, idp: IdentityProvider
) -> None:
    unknown_kid = idp.token(key="rogue", roles=["admin"])
    _refused(_get(client, ADMIN_ENDPOINT, unknown_kid), 401, "unknown kid")
    borrowed_kid = idp.token(key="rogue", kid="rsa-1", roles=["admin"])
    _refused(_get(client, ADMIN_ENDPOINT, borrowed_kid), 401, "signature invalid")


def test_a_tampered_token_is_refused(client: TestClient, idp: IdentityProvider) -> None:
    head, _, signature = idp.token(roles=["reviewer"]).split(".")
    _, body = _unsigned_token({}, {**_claims(), "preferred_username": "ana"})
    _refused(_get(client, ADMIN_ENDPOINT, f"{head}.{body}.{signature}"), 401, "signature")


def test_alg_none_is_refused(client: TestClient) -> None:
    head, body = _unsigned_token({"alg": "none", "kid": "rsa-1", "typ": "JWT"}, _claims())
    _refused(_get(client, ADMIN_ENDPOINT, f"{head}.{body}."), 401, "algorithm none not allowed")


def test_a_crafted_algorithm_is_not_echoed(client: TestClient) -> None:
    head, body = _unsigned_token({"alg": "RS256\r\nX-Injected: 1", "kid": "rsa-1"}, _claims())
    response = _get(client, ADMIN_ENDPOINT, f"{head}.{body}.c2ln")
    _refused(response, 401, "algorithm (unprintable) not allowed")
    assert "Injected" not in response.text and "Injected" not in str(response.headers)


def test_hs256_signed_with_the_public_key_is_refused(
    client: TestClient, idp: IdentityProvider
) -> None:
    """The classic algorithm-confusion forgery: the published key used as an HMAC secret."""
    public_pem = idp.rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    head, body = _unsigned_token({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}, _claims())
    mac = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    token = f"{head}.{body}.{_b64(mac)}"
    _refused(_get(client, ADMIN_ENDPOINT, token), 401, "algorithm HS256 not allowed")


def test_the_algorithm_must_match_the_key_the_kid_names(
    client: TestClient, idp: IdentityProvider
) -> None:
    token = idp.token(key="ec", kid="rsa-1", roles=["admin"])
    _refused(_get(client, ADMIN_ENDPOINT, token), 401, "does not match the signing key")


def test_a_token_without_kid_or_garbage_is_refused(client: TestClient) -> None:
    head, body = _unsigned_token({"alg": "RS256", "typ": "JWT"}, _claims())
    _refused(_get(client, ADMIN_ENDPOINT, f"{head}.{body}.c2ln"), 401, "no kid")
    _refused(_get(client, ADMIN_ENDPOINT, "not.a.jwt"), 401, "malformed token")


def test_a_token_without_roles_authenticates_but_is_forbidden(
    client: TestClient, idp: IdentityProvider
) -> None:
    token = idp.token()  # no roles claim at all
    assert _get(client, "/_probe/whoami", token).json()["roles"] == []
    response = _get(client, ADMIN_ENDPOINT, token)
    _refused(response, 403, "requires role admin; ana has no role")
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    unknown_roles = idp.token(roles=["superuser", "root"])
    _refused(_get(client, "/_probe/reviewer", unknown_roles), 403, "admin or reviewer")


def test_jwts_are_refused_while_oidc_is_not_configured(
    tmp_path: Path, idp: IdentityProvider
) -> None:
    with _client(tmp_path, admin_api_key=SecretStr(ADMIN_KEY)) as client:
        response = _get(client, ADMIN_ENDPOINT, idp.token(roles=["admin"]))
    _refused(response, 401, "TALENTSYNC_OIDC_JWKS_URL is unset")


def test_an_unreachable_jwks_is_a_503_not_a_401(tmp_path: Path, idp: IdentityProvider) -> None:
    with _client(
        tmp_path,
        oidc_jwks_url="http://127.0.0.1:9/jwks.json",
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
    ) as client:
        response = _get(client, ADMIN_ENDPOINT, idp.token(roles=["admin"]))
    assert response.status_code == 503, response.text


def test_oidc_without_issuer_and_audience_is_refused_as_misconfigured(
    tmp_path: Path, idp: IdentityProvider
) -> None:
    with _client(tmp_path, oidc_jwks_url=idp.url) as client:
        response = _get(client, ADMIN_ENDPOINT, idp.token(roles=["admin"]))
    assert response.status_code == 503
    assert "TALENTSYNC_OIDC_AUDIENCE" in response.json()["detail"]


def test_the_jwks_is_fetched_once_and_cached(client: TestClient, idp: IdentityProvider) -> None:
    before = len(idp.requests)
    for _ in range(3):
        assert _get(client, ADMIN_ENDPOINT, idp.token(roles=["admin"])).status_code == 200
    assert len(idp.requests) - before <= 1


# --- API keys and the admin key ----------------------------------------------------------


def test_api_keys_authenticate_until_revoked(client: TestClient) -> None:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    _, reviewer = api_keys.create_key(engine, name="ana", role=Role.reviewer)
    _, admin = api_keys.create_key(engine, name="ops-bot", role=Role.admin)

    assert _get(client, "/_probe/whoami", reviewer).json() == {
        "name": "ana",
        "roles": ["reviewer"],
        "via": "api_key",
    }
    assert _get(client, "/_probe/reviewer", reviewer).status_code == 200
    _refused(_get(client, ADMIN_ENDPOINT, reviewer), 403, "requires role admin")
    assert _get(client, ADMIN_ENDPOINT, admin).status_code == 200

    api_keys.revoke_key(engine, name="ana")
    _refused(_get(client, "/_probe/reviewer", reviewer), 401, "API key revoked")
    _refused(_get(client, ADMIN_ENDPOINT, "tsk_" + "A" * 43), 401, "unknown API key")


def test_a_forbidden_caller_with_a_non_ascii_name_gets_a_clean_403(client: TestClient) -> None:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    _, token = api_keys.create_key(engine, name='Zoë "李" Ng', role=Role.auditor)
    response = _get(client, "/_probe/reviewer", token)
    _refused(response, 403, 'Zoë "李" Ng has auditor')
    challenge = response.headers["www-authenticate"]
    assert (
        'error_description="requires role admin or reviewer; Zo? ??? Ng has auditor"' in challenge
    )


def test_the_admin_key_is_still_an_admin(client: TestClient) -> None:
    me = _get(client, "/_probe/whoami", ADMIN_KEY).json()
    assert me == {"name": "admin-key", "roles": ["admin"], "via": "admin_key"}
    for path in (ADMIN_ENDPOINT, "/_probe/reviewer", "/_probe/auditor", "/_probe/admin"):
        assert _get(client, path, ADMIN_KEY).status_code == 200, path
    _refused(_get(client, ADMIN_ENDPOINT, "bootstrap-admin-key"), 401, "unknown bearer token")
    _refused(_get(client, ADMIN_ENDPOINT, ADMIN_KEY + "x"), 401, "malformed token")  # JWT-shaped


def test_missing_or_non_bearer_credentials_are_401(client: TestClient) -> None:
    response = _get(client, ADMIN_ENDPOINT)
    _refused(response, 401, "bearer credentials required")
    assert response.headers["www-authenticate"] == 'Bearer realm="talentsync"'
    basic = client.get(ADMIN_ENDPOINT, headers={"authorization": "Basic YWRtaW46YWRtaW4="})
    _refused(basic, 401, "Bearer scheme")


def test_with_no_credentials_configured_the_api_is_disabled(tmp_path: Path) -> None:
    with _client(tmp_path) as client:
        _refused(_get(client, ADMIN_ENDPOINT), 403, "no credentials are configured")
        _refused(_get(client, ADMIN_ENDPOINT, "anything"), 403, "no credentials are configured")
        assert _get(client, ADMIN_ENDPOINT).json()["title"] == "API access disabled"

        engine = client.app.state.services.engine  # type: ignore[attr-defined]
        _, token = api_keys.create_key(engine, name="first", role=Role.admin)
        _refused(_get(client, ADMIN_ENDPOINT), 401, "bearer credentials required")
        assert _get(client, ADMIN_ENDPOINT, token).status_code == 200


def test_credentials_never_reach_the_logs(
    client: TestClient, idp: IdentityProvider, caplog: pytest.LogCaptureFixture
) -> None:
    engine = client.app.state.services.engine  # type: ignore[attr-defined]
    _, key = api_keys.create_key(engine, name="ana", role=Role.reviewer)
    expired = idp.token(roles=["admin"], exp=int(time.time()) - 3600)
    tokens = [key, expired, idp.token(roles=["auditor"]), idp.token(key="rogue"), ADMIN_KEY]
    with caplog.at_level(logging.DEBUG):
        for token in tokens:
            _get(client, ADMIN_ENDPOINT, token)
            _get(client, "/_probe/whoami", token)
        api_keys.revoke_key(engine, name="ana")
        _get(client, ADMIN_ENDPOINT, key)
    assert "refused credentials" in caplog.text  # the refusals were logged...
    for token in tokens:  # ...without the credentials or their secret parts
        assert token not in caplog.text
    for jwt_token in tokens[1:4]:
        assert jwt_token.split(".")[-1] not in caplog.text  # the signature
    assert key.removeprefix("tsk_") not in caplog.text
