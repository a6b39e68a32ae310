"""API keys for people and machines that call the service: created, verified, revoked here.

A key is 32 random bytes behind a recognisable ``tsk_`` prefix (so secret scanners and
people can tell what leaked), shown once at creation. Only its SHA-256 digest is stored:
someone who reads the table (a backup, a replica, a support dump) cannot use what they
read. A plain digest is enough because the key has 256 bits of entropy; a slow password
hash or a server-side pepper would add cost and key management but no security here.

Names are unique among *active* keys, so a person's leaked key can be revoked and a new
one issued under the same name, while the revoked row stays for the record.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from sqlalchemy import Index, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select

from core.db import as_utc, session_scope, utcnow

log = logging.getLogger(__name__)

KEY_PREFIX = "tsk_"
KEY_BYTES = 32
DISPLAY_PREFIX_CHARS = len(KEY_PREFIX) + 8  # enough to tell keys apart in a listing
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is refreshed at most this often, so a busy client does not turn every
request into a write (SQLite has one writer)."""


class Role(StrEnum):
    """What a caller may do. Roles are not ranked: an admin is not implicitly an auditor
    in the data model, the dependencies in ``api.auth`` say which roles an endpoint takes."""

    reviewer = "reviewer"
    admin = "admin"
    auditor = "auditor"


Via = Literal["api_key", "oidc", "admin_key"]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: who (for the audit trail), with which roles, and how."""

    name: str
    roles: frozenset[Role]
    via: Via

    def has_any(self, roles: frozenset[Role]) -> bool:
        return not self.roles.isdisjoint(roles)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    __table_args__ = (
        # Unique among active keys only: revoking a key frees its name for a replacement.
        Index(
            "uq_api_key_active_name",
            "name",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, primary_key=True, max_length=32)
    name: str = Field(max_length=128, description="Who the key belongs to, e.g. ana.")
    role: str = Field(max_length=16)
    key_prefix: str = Field(max_length=16, description="The first characters; not secret.")
    key_hash: str = Field(max_length=64, unique=True, repr=False)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ApiKeyError(ValueError):
    """A key operation was refused; the message says why in operator terms."""


class DuplicateKeyNameError(ApiKeyError):
    pass


class KeyNotFoundError(ApiKeyError, LookupError):
    pass


class KeyRejectedError(ApiKeyError):
    """A presented key does not authenticate; ``reason`` is safe to show the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def looks_like_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _validated_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 128:
        raise ApiKeyError("a key name must be 1 to 128 characters")
    return cleaned


def create_key(engine: Engine, *, name: str, role: Role) -> tuple[ApiKey, str]:
    """Create a key for ``name``; the plaintext is returned here and never again.

    The partial unique index is the arbiter, so two operators creating the same name at
    once get one key and one :class:`DuplicateKeyNameError`.
    """
    name = _validated_name(name)
    token = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
    row = ApiKey(
        name=name,
        role=Role(role).value,
        key_prefix=token[:DISPLAY_PREFIX_CHARS],
        key_hash=_digest(token),
    )
    try:
        with session_scope(engine) as session:
            session.add(row)
    except IntegrityError:
        raise DuplicateKeyNameError(
            f"an active API key named {name!r} exists; revoke it first"
        ) from None
    log.info("created API key %s for %s (%s)", row.key_prefix, name, row.role)
    return row, token


def authenticate_key(engine: Engine, token: str) -> Principal:
    """The principal a key stands for, or :class:`KeyRejectedError` saying why not.

    The lookup is by digest (indexed), and the digest is compared again in constant time:
    timing can at most reveal digest prefixes, which do not help to forge a key.
    """
    if not looks_like_key(token):
        raise KeyRejectedError("not an API key")
    digest = _digest(token)
    now = utcnow()
    with session_scope(engine) as session:
        row = session.exec(select(ApiKey).where(ApiKey.key_hash == digest)).first()
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            raise KeyRejectedError("unknown API key")
        if row.revoked_at is not None:
            raise KeyRejectedError("API key revoked")
        if row.last_used_at is None or as_utc(row.last_used_at) < now - LAST_USED_RESOLUTION:
            session.execute(
                update(ApiKey)
                .where(col(ApiKey.id) == row.id)
                .values(last_used_at=now)
                .execution_options(synchronize_session=False)
            )
        return Principal(name=row.name, roles=frozenset({Role(row.role)}), via="api_key")


def verify_key(engine: Engine, token: str) -> Principal | None:
    """The principal for a valid, unrevoked key; ``None`` for anything else."""
    try:
        return authenticate_key(engine, token)
    except KeyRejectedError:
        return None


def revoke_key(engine: Engine, *, name: str) -> ApiKey:
    """Revoke the active key of ``name``; it stops working on the next request."""
    name = _validated_name(name)
    with session_scope(engine) as session:
        row = session.exec(
            select(ApiKey).where(ApiKey.name == name, col(ApiKey.revoked_at).is_(None))
        ).first()
        if row is None:
            raise KeyNotFoundError(f"no active API key named {name!r}")
        row.revoked_at = utcnow()
        session.add(row)
    log.info("revoked API key %s of %s", row.key_prefix, name)
    return row


def list_keys(engine: Engine) -> list[ApiKey]:
    """Every key, revoked ones included (they are the record of who had access)."""
    with session_scope(engine) as session:
        return list(session.exec(select(ApiKey).order_by(col(ApiKey.created_at), col(ApiKey.name))))


def has_active_keys(engine: Engine) -> bool:
    """Whether any key could authenticate; with none (and nothing else configured) the
    API answers "disabled" rather than "unauthorized"."""
    with session_scope(engine) as session:
        found = session.exec(
            select(ApiKey.id).where(col(ApiKey.revoked_at).is_(None)).limit(1)
        ).first()
        return found is not None
