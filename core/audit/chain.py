"""The hash chain: how an entry is hashed, how entries are appended under the chain lock,
and how a chain (or an exported segment of it) is verified. Why, and the exact recipe, are
in the ``core.audit`` docstring."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import insert, text
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from core.audit.entry import (
    AUDIT_TABLE,
    GENESIS_HASH,
    HASHED_FIELDS,
    JSON_FIELDS,
    AuditEntry,
    AuditEntryCreate,
    AuditEntryPublic,
    fields_of,
    iso_utc,
)
from core.db import session_scope, utcnow

log = logging.getLogger(__name__)

_PG_LOCK: Final = "SELECT pg_advisory_xact_lock(1635083369, 1)"
"""The chain lock. The two-int key space never overlaps the one-bigint space that
``pg_advisory_xact_lock(hashtext(...))`` uses elsewhere; 1635083369 is b"audi" as int."""


# --- hashing ------------------------------------------------------------------------------


_CANONICAL: Final = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
"""What ``json.dumps`` with these options builds on every call, built once (it is
stateless between calls): a few microseconds per entry field on intake's hot path."""


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no whitespace, UTF-8 as is, floats as ``repr``
    (what ``json`` does), and NaN/Infinity refused since they are not JSON."""
    return _CANONICAL.encode(value)


def hashed_content(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The exact object whose canonical JSON is hashed."""
    content = {name: fields[name] for name in HASHED_FIELDS}
    content["at"] = iso_utc(content["at"])
    for name in ("actor_kind", "action"):
        content[name] = str(content[name])
    if content["confidence"] is not None:
        content["confidence"] = float(content["confidence"])
    return content


def entry_hash(fields: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(canonical_json(hashed_content(fields)).encode("utf-8"))
    return digest.hexdigest()


def _as_json(value: Any) -> Any:
    """What the database will give back: plain JSON types, so the hash computed now is the
    hash recomputed from a read later (tuples become lists, datetimes ISO strings)."""
    if value is None:
        return None
    return json.loads(canonical_json(to_jsonable_python(value)))


# --- appending ----------------------------------------------------------------------------


def append_in(session: Session, *, entry: AuditEntryCreate) -> AuditEntry:
    """Append inside the caller's transaction, so the entry commits (or rolls back) with
    the change it describes.

    The chain lock is held until that transaction ends and every other appender waits for
    it, so call this last, after the transaction's other writes and row locks (taking the
    lock first and a row lock later can deadlock with a writer doing the opposite). On
    PostgreSQL the transaction must be READ COMMITTED (the default) so that it sees the
    head committed by the appender before it.
    """
    return append_many_in(session, entries=[entry])[0]


def append_many_in(session: Session, *, entries: Sequence[AuditEntryCreate]) -> list[AuditEntry]:
    """Append several entries in order under one lock (bulk loads, benchmarks)."""
    rows = [AuditEntry(**values) for values in _chained(session, entries)]
    session.add_all(rows)
    session.flush()
    return rows


def extend_in(transaction: Session | Connection, *, entries: Sequence[AuditEntryCreate]) -> None:
    """``append_many_in`` for a hot path that needs no rows back (webhook intake): one
    multi-row INSERT, no ORM object per entry; the same entries, hashes and lock. Takes a
    Core connection too (in a transaction), which spares the ORM's per-statement work."""
    values = _chained(transaction, entries)
    if values:
        transaction.execute(insert(AUDIT_TABLE), values)


_HEAD = (
    core_select(AUDIT_TABLE.c.seq, AUDIT_TABLE.c.hash).order_by(AUDIT_TABLE.c.seq.desc()).limit(1)
)
"""The chain's last entry; built once (every completed event appends)."""


def _chained(
    transaction: Session | Connection, entries: Sequence[AuditEntryCreate]
) -> list[dict[str, Any]]:
    """Take the chain lock, read the head, and link ``entries`` after it: their column
    values with ``seq``, ``at``, ``prev_hash`` and ``hash`` assigned."""
    bind = transaction.get_bind() if isinstance(transaction, Session) else transaction
    if bind.dialect.name == "postgresql":
        transaction.execute(text(_PG_LOCK))
    head = transaction.execute(_HEAD).first()
    seq, prev_hash = head if head is not None else (0, GENESIS_HASH)
    chained: list[dict[str, Any]] = []
    for entry in entries:
        seq += 1
        # Validated again: a model built with model_construct or changed after validation
        # must not slip a raw id or an impossible confidence into a permanent record.
        values: dict[str, Any] = AuditEntryCreate.model_validate(entry.model_dump()).model_dump()
        for name in JSON_FIELDS:
            values[name] = _as_json(values[name])
        values.update(seq=seq, at=utcnow(), prev_hash=prev_hash)
        values["hash"] = prev_hash = entry_hash(values)
        chained.append(values)
    return chained


def append(engine: Engine, *, entry: AuditEntryCreate) -> AuditEntry:
    """Append one entry in its own transaction."""
    with session_scope(engine) as session:
        return append_in(session, entry=entry)


def append_many(engine: Engine, *, entries: Sequence[AuditEntryCreate]) -> list[AuditEntry]:
    with session_scope(engine) as session:
        return append_many_in(session, entries=entries)


# --- verification -------------------------------------------------------------------------


class VerifyReport(BaseModel):
    """``head_seq``/``head_hash`` are what to keep elsewhere: a later chain that no longer
    contains that entry with that hash was cut short or rewritten."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    problem: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None


class _Checker:
    """Walks entries in order keeping only the previous link: constant memory."""

    def __init__(self, *, first_seq: int | None, linked: bool = True) -> None:
        self.expected_seq = first_seq  # None: a segment, anchored on its first entry
        self.linked = linked
        self.prev_hash: str | None = GENESIS_HASH if first_seq == 1 else None
        self.checked = 0
        self.broken: tuple[int, str] | None = None
        self.head: tuple[int, str] | None = None

    def feed(self, fields: Mapping[Any, Any]) -> bool:
        """Check one entry; ``False`` once a break is found (stop reading then)."""
        seq, stored = int(fields["seq"]), str(fields["hash"])
        if self.linked:
            if self.expected_seq is None and seq == 1:
                self.prev_hash = GENESIS_HASH
            if self.expected_seq is not None and seq != self.expected_seq:
                if seq > self.expected_seq:
                    missing = f"seq {self.expected_seq}" + (
                        f"..{seq - 1}" if seq - 1 > self.expected_seq else ""
                    )
                    return self._break(self.expected_seq, f"{missing} missing before seq {seq}")
                return self._break(seq, f"seq {seq} out of order (expected {self.expected_seq})")
            if self.prev_hash is not None and fields["prev_hash"] != self.prev_hash:
                return self._break(
                    seq,
                    f"prev_hash of seq {seq} is not the hash of seq {seq - 1}: "
                    "an entry before it was removed, replaced or reordered",
                )
        if entry_hash(fields) != stored:
            return self._break(seq, f"content of seq {seq} does not match its hash: edited")
        self.checked += 1
        self.expected_seq, self.prev_hash, self.head = seq + 1, stored, (seq, stored)
        return True

    def _break(self, seq: int, problem: str) -> bool:
        self.broken = (seq, problem)
        return False

    def report(self) -> VerifyReport:
        head_seq, head_hash = self.head if self.head else (None, None)
        if self.broken is None:
            return VerifyReport(
                ok=True, checked=self.checked, head_seq=head_seq, head_hash=head_hash
            )
        seq, problem = self.broken
        return VerifyReport(
            ok=False,
            checked=self.checked,
            first_broken_seq=seq,
            problem=problem,
            head_seq=head_seq,
            head_hash=head_hash,
        )


def verify_rows(
    rows: Iterable[AuditEntry | AuditEntryPublic | Mapping[str, Any]], *, linked: bool = True
) -> VerifyReport:
    """Verify entries outside the database, e.g. an export.

    ``linked``: the rows are a contiguous segment (seq n, n+1, ...); the first one is taken
    as the anchor unless it is seq 1, which must follow the genesis hash. With
    ``linked=False`` (one person's history, which skips other people's entries) each entry
    is checked against its own hash only; compare those hashes with the live chain.
    """
    checker = _Checker(first_seq=None, linked=linked)
    for row in rows:
        if not checker.feed(fields_of(row)):
            break
    return checker.report()


def verify(engine: Engine, *, batch: int = 5000) -> VerifyReport:
    """Walk the whole chain from seq 1 in seq order, ``batch`` rows per read, up to the head
    as it was when the walk started (entries appended meanwhile are left for next time)."""
    table = AUDIT_TABLE
    seq_column = table.c.seq
    with engine.connect() as connection:
        end = connection.execute(
            core_select(seq_column).order_by(seq_column.desc()).limit(1)
        ).scalar()
    checker = _Checker(first_seq=1)
    after = 0
    while end is not None and after < end:
        with engine.connect() as connection:
            rows = connection.execute(
                core_select(table)
                .where(seq_column > after, seq_column <= end)
                .order_by(seq_column)
                .limit(batch)
            ).mappings()
            last = after
            for row in rows:
                last = row["seq"]
                if not checker.feed(row):
                    break
        if checker.broken is not None or last == after:
            break
        after = last
    report = checker.report()
    if report.ok:
        log.info("audit chain intact: %d entries, head seq %s", report.checked, report.head_seq)
    else:
        log.warning("audit chain broken at seq %s: %s", report.first_broken_seq, report.problem)
    return report
