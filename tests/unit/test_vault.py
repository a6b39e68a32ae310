"""The PII vault: per-employee keys, entries bound to their owner, crypto-shredding."""

from __future__ import annotations

import base64
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.db import make_engine, session_scope
from core.schema import create_tables
from core.settings import Settings
from core.vault import (
    EntryNotFoundError,
    Sealing,
    ShreddedError,
    VaultEntry,
    VaultError,
    VaultKeyError,
    load_keys,
    pseudonym,
    reveal,
    shred,
    store,
    store_many,
)

MASTER = os.urandom(32)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path}/vault.db")
    create_tables(engine)
    yield engine
    engine.dispose()


def _b64(raw: bytes) -> SecretStr:
    return SecretStr(base64.b64encode(raw).decode())


def test_a_stored_mapping_comes_back(engine: Engine) -> None:
    mapping = {"<PERSON_1>": "Zoë Quillfeather", "<EMAIL_1>": "zoe@example.com"}
    store(engine, master_key=MASTER, subject="emp_a", label="rcpt_1", plaintext=mapping)
    store(engine, master_key=MASTER, subject="emp_a", label="<PERSON_1>", plaintext="Zoë")
    assert reveal(engine, master_key=MASTER, subject="emp_a", label="rcpt_1") == mapping
    assert reveal(engine, master_key=MASTER, subject="emp_a", label="<PERSON_1>") == "Zoë"


def test_storing_a_label_again_replaces_it(engine: Engine) -> None:
    for value in ("first", "second"):
        store(engine, master_key=MASTER, subject="emp_a", label="l", plaintext=value)
    assert reveal(engine, master_key=MASTER, subject="emp_a", label="l") == "second"


def test_values_stored_together_come_back_and_replace_what_was_there(engine: Engine) -> None:
    store(engine, master_key=MASTER, subject="emp_a", label="l", plaintext="old")
    items = [
        Sealing(subject="emp_a", label="l", plaintext={"<PERSON_1>": "Zoë"}),  # key exists
        Sealing(subject="emp_b", label="l", plaintext="new person"),  # key made here
        Sealing(subject="emp_b", label="m", plaintext="second value"),
    ]
    store_many(engine, master_key=MASTER, items=items)
    for item in items:
        assert reveal(engine, master_key=MASTER, subject=item.subject, label=item.label) == (
            item.plaintext
        )
    with Session(engine) as session:
        assert len(session.exec(select(VaultEntry)).all()) == 3
    shred(engine, subject="emp_b")  # each subject sealed under its own key
    assert reveal(engine, master_key=MASTER, subject="emp_a", label="l") == {"<PERSON_1>": "Zoë"}
    with pytest.raises(ShreddedError):
        reveal(engine, master_key=MASTER, subject="emp_b", label="m")


def test_the_plaintext_is_not_in_the_database(engine: Engine, tmp_path: Path) -> None:
    store(engine, master_key=MASTER, subject="emp_a", label="l", plaintext="Quillfeather")
    engine.dispose()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("vault.db*"))
    assert b"Quillfeather" not in stored


def test_an_entry_moved_to_another_person_does_not_decrypt(engine: Engine) -> None:
    store(engine, master_key=MASTER, subject="emp_a", label="l", plaintext="secret of a")
    store(engine, master_key=MASTER, subject="emp_b", label="other", plaintext="b")
    with session_scope(engine) as session:  # an attacker (or a bug) re-points the row
        session.execute(
            update(VaultEntry)
            .where(col(VaultEntry.subject) == "emp_a")
            .values(subject="emp_b", label="l")
        )
    with pytest.raises(VaultError):
        reveal(engine, master_key=MASTER, subject="emp_b", label="l")


def test_after_shredding_nothing_can_be_revealed(engine: Engine) -> None:
    store(engine, master_key=MASTER, subject="emp_a", label="l", plaintext="gone soon")
    store(engine, master_key=MASTER, subject="emp_b", label="l", plaintext="stays")
    assert shred(engine, subject="emp_a") is True
    with pytest.raises(ShreddedError):
        reveal(engine, master_key=MASTER, subject="emp_a", label="l")
    assert reveal(engine, master_key=MASTER, subject="emp_b", label="l") == "stays"
    assert shred(engine, subject="emp_a") is False  # idempotent


def test_an_unknown_label_is_not_mistaken_for_an_erasure(engine: Engine) -> None:
    with pytest.raises(EntryNotFoundError):
        reveal(engine, master_key=MASTER, subject="emp_a", label="never")


def test_a_wrong_master_key_is_reported_as_such(engine: Engine) -> None:
    store(engine, master_key=MASTER, subject="emp_a", label="l", plaintext="x")
    with pytest.raises(VaultKeyError, match="master key"):
        reveal(engine, master_key=os.urandom(32), subject="emp_a", label="l")


def test_keys_come_from_settings_when_set(tmp_path: Path) -> None:
    master, secret = os.urandom(32), os.urandom(32)
    settings = Settings(
        var_dir=tmp_path, pii_master_key=_b64(master), pii_pseudonym_key=_b64(secret)
    )
    keys = load_keys(settings)
    assert (keys.master, keys.pseudonym) == (master, secret)
    assert not (tmp_path / "keys").exists()
    assert repr(keys) == "VaultKeys()"  # key bytes never reach a log line


def test_url_safe_base64_is_accepted(tmp_path: Path) -> None:
    raw = bytes(range(200, 232))  # encodes with '-' and '_' in the URL-safe alphabet
    encoded = SecretStr(base64.urlsafe_b64encode(raw).decode())
    keys = load_keys(Settings(var_dir=tmp_path, pii_master_key=encoded))
    assert keys.master == raw


def test_without_settings_keys_are_generated_once_and_kept_private(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(var_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="core.vault"):
        first = load_keys(settings)
    assert "TALENTSYNC_PII_MASTER_KEY" in caplog.text
    assert "TALENTSYNC_PII_PSEUDONYM_KEY" in caplog.text
    for name in ("master.key", "pseudonym.key"):
        mode = stat.S_IMODE((tmp_path / "keys" / name).stat().st_mode)
        assert mode == 0o600, oct(mode)
    assert load_keys(settings) == first  # same keys after a restart
    assert first.master != first.pseudonym
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == [
        "master.key",
        "pseudonym.key",
    ]  # no temporary files left behind


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not base64 at all!", "not valid base64"),
        (base64.b64encode(b"too short").decode(), "must decode to 32 bytes, got 9"),
        (base64.b64encode(os.urandom(64)).decode(), "got 64"),
    ],
)
def test_a_malformed_key_is_refused_with_the_variable_name(
    tmp_path: Path, value: str, reason: str
) -> None:
    settings = Settings(var_dir=tmp_path, pii_master_key=SecretStr(value))
    with pytest.raises(VaultKeyError, match="TALENTSYNC_PII_MASTER_KEY") as error:
        load_keys(settings)
    assert reason in str(error.value)
    assert value not in str(error.value)  # never echo (part of) a secret


def test_a_corrupted_key_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "master.key").write_text("c2hvcnQ=\n")
    with pytest.raises(VaultKeyError, match=r"master\.key"):
        load_keys(Settings(var_dir=tmp_path))


def test_pseudonyms_are_stable_keyed_and_hide_the_id() -> None:
    key, other = os.urandom(32), os.urandom(32)
    name = pseudonym("E10042", secret=key)
    assert name == pseudonym("E10042", secret=key)
    assert name.startswith("emp_") and "10042" not in name
    assert name != pseudonym("E10043", secret=key)
    assert name != pseudonym("E10042", secret=other)
