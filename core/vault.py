"""The PII vault: the only place reversible personal values are kept, encrypted per employee.

Each employee (``subject``, a keyed pseudonym, never the raw HRIS id) gets a random 256-bit
data key, stored only wrapped under the master key (AES key wrap, RFC 3394). Entries are
AES-GCM sealed with that data key and bound to ``subject`` and ``label`` as associated
data, so a row copied onto another person or another label fails to decrypt instead of
revealing the wrong person's values. Erasing a person deletes their data key: every entry,
including copies in backups, becomes noise (crypto-shredding) while the audit chain that
only refers to the pseudonym stays verifiable.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
)
from pydantic import SecretStr
from sqlalchemy import Column, LargeBinary, Table, UniqueConstraint, delete, insert, tuple_
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from core.db import session_scope, utcnow
from core.settings import Settings

log = logging.getLogger(__name__)

KEY_BYTES = 32
NONCE_BYTES = 12
PSEUDONYM_PREFIX = "emp_"

Plaintext = dict[str, str] | str


class VaultKey(SQLModel, table=True):
    """One row per employee; deleting it is the erasure."""

    __tablename__ = "vault_key"

    subject: str = Field(primary_key=True, max_length=128)
    wrapped_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class VaultEntry(SQLModel, table=True):
    __tablename__ = "vault_entry"
    __table_args__ = (UniqueConstraint("subject", "label", name="uq_vault_subject_label"),)

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, primary_key=True, max_length=32)
    subject: str = Field(max_length=128, index=True)
    label: str = Field(max_length=256)
    nonce: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class VaultError(RuntimeError):
    pass


class ShreddedError(VaultError):
    """The subject's key is gone (erased): what was stored can never be read again."""


class EntryNotFoundError(VaultError, LookupError):
    pass


class VaultKeyError(ValueError):
    """A configured or stored key is unusable; the message says which one and why."""


@dataclass(frozen=True)
class VaultKeys:
    """Raw key bytes; hidden from ``repr`` so they never end up in a log line or traceback."""

    master: bytes = field(repr=False)
    pseudonym: bytes = field(repr=False)


def pseudonym(external_id: str, *, secret: bytes) -> str:
    """A stable, keyed stand-in for an HRIS id: joinable across tables, but not reversible
    or guessable without the key (a plain hash of a short employee id is brute-forced in
    seconds)."""
    digest = hmac.new(secret, external_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest


# --- keys -------------------------------------------------------------------------------


def decode_key(value: str, *, name: str) -> bytes:
    """Base64 (standard or URL-safe) of exactly 32 bytes; anything else is refused loudly,
    because a truncated key would silently weaken every entry encrypted with it."""
    text = value.strip()
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise VaultKeyError(
            f"{name} is not valid base64; generate one with: "
            "python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'"
        ) from None
    if len(raw) != KEY_BYTES:
        raise VaultKeyError(f"{name} must decode to {KEY_BYTES} bytes, got {len(raw)}")
    return raw


def load_keys(settings: Settings) -> VaultKeys:
    """Keys from settings, or (offline default) from files generated once under ``var_dir``.

    Generated files keep a developer machine working across restarts; production must set
    both keys from a secret store, since anyone who can read ``var_dir`` can read the vault.
    """
    return VaultKeys(
        master=_key(settings.pii_master_key, settings, "master", "TALENTSYNC_PII_MASTER_KEY"),
        pseudonym=_key(
            settings.pii_pseudonym_key, settings, "pseudonym", "TALENTSYNC_PII_PSEUDONYM_KEY"
        ),
    )


_warned: set[Path] = set()


def _key(configured: SecretStr | None, settings: Settings, stem: str, variable: str) -> bytes:
    if configured is not None:
        return decode_key(configured.get_secret_value(), name=variable)
    path = settings.var_dir / "keys" / f"{stem}.key"
    created = _create_key_file(path)
    if created or path not in _warned:
        _warned.add(path)
        log.warning(
            "%s %s; set %s in production (anyone who can read %s can read the vault)",
            "generated" if created else "using generated key",
            path,
            variable,
            path.parent,
        )
    return decode_key(path.read_text(encoding="ascii"), name=str(path))


def _create_key_file(path: Path) -> bool:
    """Create the key file with 0600 unless it exists; ``True`` if this call created it.

    The key is written to a private temporary file and hard-linked into place, so a process
    starting at the same moment either loses the race or sees the whole key, never half.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)


# --- service ----------------------------------------------------------------------------


def _associated_data(subject: str, label: str) -> bytes:
    return json.dumps([subject, label], separators=(",", ":")).encode("utf-8")


def _data_key(session: Session, *, master_key: bytes, subject: str) -> bytes | None:
    row = session.get(VaultKey, subject)
    return None if row is None else _unwrapped(master_key, row.wrapped_key, subject)


def _unwrapped(master_key: bytes, wrapped: bytes, subject: str) -> bytes:
    try:
        return aes_key_unwrap(master_key, wrapped)
    except InvalidUnwrap:
        raise VaultKeyError(
            f"the master key cannot unwrap the key of {subject}: wrong TALENTSYNC_PII_MASTER_KEY?"
        ) from None


def _sealed(data_key: bytes, subject: str, label: str, plaintext: Plaintext) -> tuple[bytes, bytes]:
    """A fresh nonce and the value sealed under it, bound to subject and label."""
    body = {"dict": plaintext} if isinstance(plaintext, dict) else {"str": plaintext}
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(data_key).encrypt(
        nonce, json.dumps(body).encode("utf-8"), _associated_data(subject, label)
    )
    return nonce, sealed


def _ensure_data_key(engine: Engine, *, master_key: bytes, subject: str) -> bytes:
    """The subject's data key, created on first use; concurrent creators agree on one."""
    with Session(engine) as session:
        existing = _data_key(session, master_key=master_key, subject=subject)
    if existing is not None:
        return existing
    fresh = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    try:
        with session_scope(engine) as session:
            session.add(VaultKey(subject=subject, wrapped_key=aes_key_wrap(master_key, fresh)))
        return fresh
    except IntegrityError:  # another writer created it first: use theirs
        with Session(engine) as session:
            winner = _data_key(session, master_key=master_key, subject=subject)
        if winner is None:
            raise VaultError(f"key of {subject} vanished while it was being created") from None
        return winner


def _entry(session: Session, *, subject: str, label: str) -> VaultEntry | None:
    query = select(VaultEntry).where(VaultEntry.subject == subject, VaultEntry.label == label)
    return session.exec(query).first()


def store(
    engine: Engine, *, master_key: bytes, subject: str, label: str, plaintext: Plaintext
) -> None:
    """Seal ``plaintext`` under the subject's key; storing a label again replaces it, so a
    retried run never leaves two versions of one placeholder behind."""
    data_key = _ensure_data_key(engine, master_key=master_key, subject=subject)
    nonce, sealed = _sealed(data_key, subject, label, plaintext)
    for attempt in range(2):
        try:
            with session_scope(engine) as session:
                row = _entry(session, subject=subject, label=label)
                if row is None:
                    row = VaultEntry(subject=subject, label=label, nonce=nonce, ciphertext=sealed)
                else:
                    row.nonce, row.ciphertext, row.created_at = nonce, sealed, utcnow()
                session.add(row)
            return
        except IntegrityError:
            if attempt:  # pragma: no cover - needs two writers racing twice
                raise


@dataclass(frozen=True)
class Sealing:
    """A value to seal under a subject's key, as `store` takes it."""

    subject: str
    label: str
    plaintext: Plaintext


_KEYS = cast(Table, VaultKey.__table__)  # type: ignore[attr-defined]
_ENTRIES = cast(Table, VaultEntry.__table__)  # type: ignore[attr-defined]


def store_many(engine: Engine, *, master_key: bytes, items: Sequence[Sealing]) -> None:
    """`store` for many values (a batch of runs' placeholders) in two transactions instead
    of two to four each. If another writer creates one of the keys or entries meanwhile,
    the values are stored one by one, as `store` agrees with concurrent writers."""
    if not items:
        return
    subjects = sorted({item.subject for item in items})
    try:
        keys = _data_keys_created(engine, master_key=master_key, subjects=subjects)
        rows = []
        for item in items:
            nonce, sealed = _sealed(keys[item.subject], item.subject, item.label, item.plaintext)
            rows.append(
                {
                    "id": uuid.uuid4().hex,
                    "subject": item.subject,
                    "label": item.label,
                    "nonce": nonce,
                    "ciphertext": sealed,
                    "created_at": utcnow(),
                }
            )
        pairs = [(item.subject, item.label) for item in items]
        with engine.begin() as connection:  # a label stored again replaces the old value
            connection.execute(
                delete(_ENTRIES).where(tuple_(_ENTRIES.c.subject, _ENTRIES.c.label).in_(pairs))
            )
            connection.execute(insert(_ENTRIES), rows)
    except IntegrityError:
        for item in items:
            store(
                engine,
                master_key=master_key,
                subject=item.subject,
                label=item.label,
                plaintext=item.plaintext,
            )


def _data_keys_created(
    engine: Engine, *, master_key: bytes, subjects: Sequence[str]
) -> dict[str, bytes]:
    """The subjects' data keys, the missing ones created in one insert (which raises
    IntegrityError if another writer got there first)."""
    with engine.connect() as connection:
        found = connection.execute(
            select(_KEYS.c.subject, _KEYS.c.wrapped_key).where(_KEYS.c.subject.in_(subjects))
        ).all()
    keys = {subject: _unwrapped(master_key, wrapped, subject) for subject, wrapped in found}
    fresh = {s: AESGCM.generate_key(bit_length=KEY_BYTES * 8) for s in subjects if s not in keys}
    if fresh:
        with engine.begin() as connection:
            connection.execute(
                insert(_KEYS),
                [
                    {
                        "subject": s,
                        "wrapped_key": aes_key_wrap(master_key, k),
                        "created_at": utcnow(),
                    }
                    for s, k in fresh.items()
                ],
            )
    return keys | fresh


def reveal(engine: Engine, *, master_key: bytes, subject: str, label: str) -> Plaintext:
    with Session(engine) as session:
        row = _entry(session, subject=subject, label=label)
        if row is None:
            raise EntryNotFoundError(f"no vault entry {label!r} for {subject}")
        data_key = _data_key(session, master_key=master_key, subject=subject)
    if data_key is None:
        raise ShreddedError(f"the key of {subject} was shredded; {label!r} is unrecoverable")
    try:
        opened = AESGCM(data_key).decrypt(
            row.nonce, row.ciphertext, _associated_data(subject, label)
        )
    except InvalidTag:
        raise VaultError(f"vault entry {label!r} of {subject} fails authentication") from None
    body = json.loads(opened)
    value: Plaintext = body["dict"] if "dict" in body else body["str"]
    return value


def shred(engine: Engine, *, subject: str) -> bool:
    """Delete the subject's data key; ``True`` if there was one. Entries are left in place:
    they are unreadable now, and leaving them shows the erasure was by key, not by luck."""
    with session_scope(engine) as session:
        result = session.execute(delete(VaultKey).where(col(VaultKey.subject) == subject))
        return cast(CursorResult[Any], result).rowcount > 0
