"""API keys on SQLite and PostgreSQL: only a hash is stored, revocation bites on the next
use, names are unique among active keys, and `last_used_at` is written sparingly."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from core import api_keys
from core.api_keys import (
    KEY_PREFIX,
    ApiKey,
    DuplicateKeyNameError,
    KeyNotFoundError,
    KeyRejectedError,
    Role,
)
from core.db import as_utc, session_scope, utcnow


def _raw_rows(engine: Engine) -> list[tuple[object, ...]]:
    """Every column of every row, as the database has it (no ORM in between)."""
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text("SELECT * FROM api_key"))]


def test_only_the_hash_is_stored(engine: Engine) -> None:
    row, token = api_keys.create_key(engine, name="ana", role=Role.reviewer)

    assert token.startswith(KEY_PREFIX) and len(token) >= len(KEY_PREFIX) + 43
    stored = _raw_rows(engine)
    assert len(stored) == 1
    cells = [str(cell) for cell in stored[0]]
    assert all(token not in cell for cell in cells)
    assert all(token[len(KEY_PREFIX) :] not in cell for cell in cells)
    assert hashlib.sha256(token.encode()).hexdigest() in cells
    assert row.key_prefix == token[: len(row.key_prefix)] and len(row.key_prefix) < 16


def test_a_key_authenticates_as_its_owner_and_role(engine: Engine) -> None:
    _, token = api_keys.create_key(engine, name="ana", role=Role.auditor)

    principal = api_keys.verify_key(engine, token)

    assert principal is not None
    assert (principal.name, principal.roles, principal.via) == (
        "ana",
        frozenset({Role.auditor}),
        "api_key",
    )


def test_unknown_and_malformed_keys_do_not_authenticate(engine: Engine) -> None:
    _, token = api_keys.create_key(engine, name="ana", role=Role.admin)

    assert api_keys.verify_key(engine, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert api_keys.verify_key(engine, token.removeprefix(KEY_PREFIX)) is None
    assert api_keys.verify_key(engine, "") is None
    with pytest.raises(KeyRejectedError, match="unknown API key"):
        api_keys.authenticate_key(engine, KEY_PREFIX + "x" * 43)


def test_a_revoked_key_stops_working_and_stays_listed(engine: Engine) -> None:
    _, token = api_keys.create_key(engine, name="ana", role=Role.reviewer)
    assert api_keys.verify_key(engine, token) is not None

    revoked = api_keys.revoke_key(engine, name="ana")

    assert revoked.revoked_at is not None
    assert api_keys.verify_key(engine, token) is None
    with pytest.raises(KeyRejectedError, match="revoked"):
        api_keys.authenticate_key(engine, token)
    [listed] = api_keys.list_keys(engine)
    assert listed.name == "ana" and not listed.is_active
    with pytest.raises(KeyNotFoundError):
        api_keys.revoke_key(engine, name="ana")


def test_a_duplicate_active_name_is_refused_clearly(engine: Engine) -> None:
    api_keys.create_key(engine, name="ana", role=Role.reviewer)

    with pytest.raises(DuplicateKeyNameError, match=r"'ana'.*revoke it first"):
        api_keys.create_key(engine, name="ana", role=Role.admin)
    with pytest.raises(DuplicateKeyNameError):
        api_keys.create_key(engine, name="  ana ", role=Role.admin)  # names are trimmed
    assert [row.role for row in api_keys.list_keys(engine)] == ["reviewer"]


def test_a_revoked_name_can_get_a_new_key_and_the_old_one_stays_dead(engine: Engine) -> None:
    _, old = api_keys.create_key(engine, name="ana", role=Role.reviewer)
    api_keys.revoke_key(engine, name="ana")

    _, new = api_keys.create_key(engine, name="ana", role=Role.reviewer)

    assert api_keys.verify_key(engine, old) is None
    principal = api_keys.verify_key(engine, new)
    assert principal is not None and principal.name == "ana"
    assert [row.is_active for row in api_keys.list_keys(engine)] == [False, True]
    assert api_keys.has_active_keys(engine)
    api_keys.revoke_key(engine, name="ana")
    assert not api_keys.has_active_keys(engine)


def test_last_used_is_recorded_but_not_rewritten_on_every_request(engine: Engine) -> None:
    row, token = api_keys.create_key(engine, name="bot", role=Role.admin)
    assert row.last_used_at is None

    api_keys.verify_key(engine, token)
    [first] = api_keys.list_keys(engine)
    assert first.last_used_at is not None
    assert abs(as_utc(first.last_used_at) - utcnow()) < timedelta(seconds=30)

    api_keys.verify_key(engine, token)
    [second] = api_keys.list_keys(engine)
    assert second.last_used_at == first.last_used_at  # within the resolution: no write

    long_ago = utcnow() - timedelta(hours=2)
    with session_scope(engine) as session:
        session.execute(
            update(ApiKey).where(col(ApiKey.id) == row.id).values(last_used_at=long_ago)
        )
    api_keys.verify_key(engine, token)
    [third] = api_keys.list_keys(engine)
    assert third.last_used_at is not None and as_utc(third.last_used_at) > long_ago


def test_names_must_not_be_blank(engine: Engine) -> None:
    with pytest.raises(api_keys.ApiKeyError):
        api_keys.create_key(engine, name="  ", role=Role.reviewer)
