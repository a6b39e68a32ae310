"""The audit trail: an append-only, hash-chained record of everything that decides or
changes something about a person, readable by auditors and verifiable by anyone.

Why a hash chain: a row that only says what happened can be edited or deleted by whoever
can write to the database, and nobody would know. Each entry here stores the SHA-256 of its
own content together with the hash of the entry before it, so editing, deleting, inserting
or reordering any entry breaks every link after it, and ``verify`` names the first broken
one. (Cutting entries off the *end* leaves a shorter valid chain: keep the head that
``verify`` reports somewhere else, e.g. in a ticket or a log shipped off-site, and compare.)

The hash, so that anyone can recompute it without this code::

    content = {every field of HASHED_FIELDS, "at" as ISO 8601 UTC with microseconds,
               "prev_hash" = hash of the entry with seq - 1 (GENESIS_HASH for seq 1)}
    hash = sha256(json.dumps(content, sort_keys=True, separators=(",", ":"),
                             ensure_ascii=False, allow_nan=False).encode("utf-8")).hexdigest()

Appends are serialised (a PostgreSQL transaction advisory lock; SQLite's single writer, taken
at BEGIN IMMEDIATE by ``core.db``), so two writers never both extend the same head: ``seq``
is the head's plus one with no gaps (no database sequence, whose values a rollback burns),
and the primary key on ``seq`` turns any fork that slipped past the lock into an error.
The database refuses UPDATE and DELETE on the table as well (triggers), so only someone who
can change the schema can tamper, and the chain shows it when they do.

Erasure and the chain: entries only ever name a person by their keyed pseudonym
(``core.vault.pseudonym``) and hold text the caller has scrubbed, never values that need
erasing. Erasing someone shreds their vault key and redacts the inbox, so nothing left can
turn the pseudonym back into a person, while every entry stays as it was and the chain stays
verifiable. The erasure itself is recorded by appending an ``erasure`` entry.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, TextIO

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import to_jsonable_python
from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table, event, text
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, Session, SQLModel, col, select

from core.db import as_utc, session_scope, utcnow

log = logging.getLogger(__name__)

GENESIS_HASH: Final = "0" * 64
"""The ``prev_hash`` of the first entry."""

PSEUDONYM_PATTERN: Final = r"^emp_[0-9a-f]{64}$"
"""What ``core.vault.pseudonym`` returns; anything else (a raw HRIS id) is refused."""

_PG_LOCK: Final = "SELECT pg_advisory_xact_lock(1635083369, 1)"
"""The chain lock. The two-int key space never overlaps the one-bigint space that
``pg_advisory_xact_lock(hashtext(...))`` uses elsewhere; 1635083369 is b"audi" as int."""


class AuditAction(StrEnum):
    event_received = "event_received"
    decision_made = "decision_made"
    review_requested = "review_requested"
    review_decided = "review_decided"
    lms_write = "lms_write"
    hris_writeback = "hris_writeback"
    erasure = "erasure"
    pii_reveal = "pii_reveal"
    retention_purge = "retention_purge"


class ActorKind(StrEnum):
    agent = "agent"
    reviewer = "reviewer"
    admin = "admin"
    system = "system"


JSONObject = dict[str, Any]


class AuditEntryBase(SQLModel):
    """What the caller says happened. Every field is hashed; ``before``/``after``/
    ``provenance``/``decision`` must already be scrubbed (no names, emails or raw ids): a
    provisioning run's entries are built through ``agents.provisioning.audit_trail``, whose
    ``pii.audit_text.AuditScreen`` passes every string through the PII firewall."""

    event_id: str | None = Field(
        default=None, min_length=1, max_length=256, description="HRIS event id, if any."
    )
    receipt_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The run: inbox receipt id, which is also the LangGraph thread id.",
    )
    subject: str | None = Field(
        default=None,
        max_length=68,
        schema_extra={"pattern": PSEUDONYM_PATTERN},
        description="Pseudonym of the employee (core.vault.pseudonym), never the HRIS id.",
    )
    actor: str = Field(
        min_length=1, max_length=128, description="e.g. agent:provisioning, reviewer:ana, system"
    )
    actor_kind: ActorKind = Field(sa_type=String(16))
    action: AuditAction = Field(sa_type=String(32))
    rule: str | None = Field(
        default=None, min_length=1, max_length=256, description="Policy or mapping rule."
    )
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    before: JSONObject | None = Field(default=None, sa_type=JSON(none_as_null=True))
    after: JSONObject | None = Field(default=None, sa_type=JSON(none_as_null=True))
    provenance: JSONObject = Field(
        default_factory=dict,
        sa_type=JSON,
        description="Rules fired, model id, prompt id@version#hash, catalog version, "
        "confidence, rationale, evidence ids, memory/cache hit.",
    )
    decision: JSONObject | None = Field(
        default=None, sa_type=JSON(none_as_null=True), description="Reviewer and decision."
    )


class AuditEntryCreate(AuditEntryBase):
    """What ``append`` takes; ``seq``, ``at`` and the hashes are assigned by the chain."""


class AuditEntry(AuditEntryBase, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_subject_seq", "subject", "seq"),
        Index("ix_audit_receipt_seq", "receipt_id", "seq"),
        Index("ix_audit_event_seq", "event_id", "seq"),
        Index("ix_audit_action_seq", "action", "seq"),
        Index("ix_audit_at", "at"),
    )

    seq: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"),  # SQLite: the rowid itself
            primary_key=True,
            autoincrement=False,
        )
    )
    at: datetime = Field(default_factory=utcnow)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditEntryPublic(AuditEntryBase):
    seq: int
    at: datetime
    prev_hash: str
    hash: str


HASHED_FIELDS: Final = (
    "seq",
    "at",
    "event_id",
    "receipt_id",
    "subject",
    "actor",
    "actor_kind",
    "action",
    "rule",
    "confidence",
    "before",
    "after",
    "provenance",
    "decision",
    "prev_hash",
)
ALL_FIELDS: Final = (*HASHED_FIELDS, "hash")
_JSON_FIELDS: Final = frozenset({"before", "after", "provenance", "decision"})


# --- append-only at the database level -------------------------------------------------

APPEND_ONLY_MESSAGE: Final = "audit_entry is append-only"
_POSTGRES_TRIGGERS: Final = (
    f"""CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END $$""",
    """CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
        FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()""",
    """CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
        FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()""",
)
_SQLITE_TRIGGERS: Final = tuple(
    f"CREATE TRIGGER audit_entry_no_{verb.lower()} BEFORE {verb} ON audit_entry "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
    for verb in ("UPDATE", "DELETE")
)


_TABLE: Table = AuditEntry.__table__  # type: ignore[attr-defined]
_TRIGGERS: Final = {"postgresql": _POSTGRES_TRIGGERS, "sqlite": _SQLITE_TRIGGERS}


def _refuse_rewrites(_table: Table, connection: Connection, **_: Any) -> None:
    """Run when the table is created: the application never rewrites an entry, so the
    database refuses it for everyone without the right to drop a trigger."""
    for statement in _TRIGGERS.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)


event.listen(_TABLE, "after_create", _refuse_rewrites)


# --- hashing ------------------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """One text per value: sorted keys, no whitespace, UTF-8 as is, floats as ``repr``
    (what ``json`` does), and NaN/Infinity refused since they are not JSON."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _iso(moment: datetime) -> str:
    return as_utc(moment).isoformat(timespec="microseconds")


def hashed_content(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The exact object whose canonical JSON is hashed."""
    content = {name: fields[name] for name in HASHED_FIELDS}
    content["at"] = _iso(content["at"])
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


def _fields(row: AuditEntry | AuditEntryPublic | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(row, Mapping):
        return row
    return {name: getattr(row, name) for name in ALL_FIELDS}


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
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(_PG_LOCK))
    head = session.exec(
        select(AuditEntry.seq, AuditEntry.hash).order_by(col(AuditEntry.seq).desc()).limit(1)
    ).first()
    seq, prev_hash = head if head is not None else (0, GENESIS_HASH)
    rows: list[AuditEntry] = []
    for entry in entries:
        seq += 1
        # Validated again: a model built with model_construct or changed after validation
        # must not slip a raw id or an impossible confidence into a permanent record.
        values: dict[str, Any] = AuditEntryCreate.model_validate(entry.model_dump()).model_dump()
        for name in _JSON_FIELDS:
            values[name] = _as_json(values[name])
        values.update(seq=seq, at=utcnow(), prev_hash=prev_hash)
        values["hash"] = prev_hash = entry_hash(values)
        rows.append(AuditEntry(**values))
    session.add_all(rows)
    session.flush()
    return rows


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
        if not checker.feed(_fields(row)):
            break
    return checker.report()


def verify(engine: Engine, *, batch: int = 5000) -> VerifyReport:
    """Walk the whole chain from seq 1 in seq order, ``batch`` rows per read, up to the head
    as it was when the walk started (entries appended meanwhile are left for next time)."""
    table = _TABLE
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


# --- queries ------------------------------------------------------------------------------


class AuditFilter(BaseModel):
    """Every set field must match; times are ``since <= at < until``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str | None = None
    event_id: str | None = None
    receipt_id: str | None = None
    action: AuditAction | None = None
    actor: str | None = None
    rule: str | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    since: datetime | None = None
    until: datetime | None = None

    @model_validator(mode="after")
    def _ranges(self) -> AuditFilter:
        low, high = self.min_confidence, self.max_confidence
        if low is not None and high is not None and low > high:
            raise ValueError("min_confidence is above max_confidence")
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError("since must be before until")
        return self

    def clauses(self) -> list[ColumnElement[bool]]:
        matches: list[ColumnElement[bool]] = []
        for name in ("subject", "event_id", "receipt_id", "action", "actor", "rule"):
            value = getattr(self, name)
            if value is not None:
                matches.append(col(getattr(AuditEntry, name)) == value)
        if self.min_confidence is not None:
            matches.append(col(AuditEntry.confidence) >= self.min_confidence)
        if self.max_confidence is not None:
            matches.append(col(AuditEntry.confidence) <= self.max_confidence)
        if self.since is not None:
            matches.append(col(AuditEntry.at) >= as_utc(self.since))
        if self.until is not None:
            matches.append(col(AuditEntry.at) < as_utc(self.until))
        return matches


def query(
    engine: Engine, *, where: AuditFilter | None = None, limit: int = 100, after_seq: int = 0
) -> list[AuditEntry]:
    """One page in seq order; pass the last ``seq`` as ``after_seq`` for the next page
    (keyset pagination: every page costs the same however deep, and entries appended
    meanwhile never shift a page)."""
    statement = (
        select(AuditEntry)
        .where(col(AuditEntry.seq) > after_seq, *(where or AuditFilter()).clauses())
        .order_by(col(AuditEntry.seq))
        .limit(limit)
    )
    with Session(engine, expire_on_commit=False) as session:
        return list(session.exec(statement))


def iter_query(
    engine: Engine,
    *,
    where: AuditFilter | None = None,
    after_seq: int = 0,
    limit: int | None = None,
    page: int = 1000,
) -> Iterator[list[AuditEntry]]:
    """Every match (or the first ``limit``) page by page, for exports of any size."""
    left = limit
    while left is None or left > 0:
        size = page if left is None else min(page, left)
        rows = query(engine, where=where, limit=size, after_seq=after_seq)
        if not rows:
            return
        yield rows
        after_seq = rows[-1].seq
        if left is not None:
            left -= len(rows)
        if len(rows) < size:
            return


def latest(
    engine: Engine, *, where: AuditFilter | None = None, limit: int = 100
) -> list[AuditEntry]:
    """The newest ``limit`` matches, newest first: what an operator asking "what just
    happened" wants to read (``query`` pages oldest first, for exports and ``after``)."""
    statement = (
        select(AuditEntry)
        .where(*(where or AuditFilter()).clauses())
        .order_by(col(AuditEntry.seq).desc())
        .limit(limit)
    )
    with Session(engine, expire_on_commit=False) as session:
        return list(session.exec(statement))


def after_seq_of_newest(engine: Engine, *, where: AuditFilter | None = None, count: int) -> int:
    """The ``after_seq`` from which ``iter_query`` yields exactly the newest ``count``
    matches, still in chain order (so an export of them re-verifies as a segment)."""
    statement = (
        select(AuditEntry.seq)
        .where(*(where or AuditFilter()).clauses())
        .order_by(col(AuditEntry.seq).desc())
        .offset(count - 1)
        .limit(1)
    )
    with Session(engine) as session:
        oldest_wanted = session.exec(statement).first()
    return 0 if oldest_wanted is None else oldest_wanted - 1


def get_entry(engine: Engine, *, seq: int) -> AuditEntry | None:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(AuditEntry, seq)


def to_public(row: AuditEntry | AuditEntryPublic) -> AuditEntryPublic:
    return AuditEntryPublic.model_validate(dict(_fields(row)))


# --- export -------------------------------------------------------------------------------


def _plain(row: AuditEntry | AuditEntryPublic) -> dict[str, Any]:
    values = dict(_fields(row))
    values["at"] = _iso(values["at"])
    values["actor_kind"], values["action"] = str(values["actor_kind"]), str(values["action"])
    return values


def export_jsonl(rows: Iterable[AuditEntry | AuditEntryPublic], fp: TextIO) -> int:
    """One entry per line, every field including both hashes; returns the count."""
    count = 0
    for row in rows:
        fp.write(json.dumps(_plain(row), ensure_ascii=False, allow_nan=False) + "\n")
        count += 1
    return count


def read_jsonl(fp: Iterable[str]) -> Iterator[AuditEntryPublic]:
    for number, line in enumerate(fp, start=1):
        if line.strip():
            try:
                yield AuditEntryPublic.model_validate_json(line)
            except ValueError as error:
                raise ValueError(f"line {number}: {error}") from None


def export_csv(
    rows: Iterable[AuditEntry | AuditEntryPublic], fp: TextIO, *, header: bool = True
) -> int:
    """A header row, then one row per entry. Empty cells are nulls (no text field may be
    empty); JSON fields are canonical JSON; so ``read_csv`` gives back what was written.
    Open ``fp`` with ``newline=""``."""
    writer = csv.writer(fp)
    if header:
        writer.writerow(ALL_FIELDS)
    count = 0
    for row in rows:
        values = _plain(row)
        cells = []
        for name in ALL_FIELDS:
            value = values[name]
            if value is None:
                cells.append("")
            elif name in _JSON_FIELDS:
                cells.append(canonical_json(value))
            elif name == "confidence":
                cells.append(repr(float(value)))
            else:
                cells.append(str(value))
        writer.writerow(cells)
        count += 1
    return count


def read_csv(fp: Iterable[str]) -> Iterator[AuditEntryPublic]:
    reader = csv.DictReader(fp)
    if tuple(reader.fieldnames or ()) != ALL_FIELDS:
        raise ValueError(f"not an audit export: columns must be {', '.join(ALL_FIELDS)}")
    for cells in reader:
        values: dict[str, Any] = {}
        for name in ALL_FIELDS:
            cell = cells[name]
            if cell == "":
                values[name] = None
            elif name in _JSON_FIELDS:
                values[name] = json.loads(cell)
            else:
                values[name] = cell
        yield AuditEntryPublic.model_validate(values)


__all__ = [
    "ALL_FIELDS",
    "GENESIS_HASH",
    "HASHED_FIELDS",
    "ActorKind",
    "AuditAction",
    "AuditEntry",
    "AuditEntryBase",
    "AuditEntryCreate",
    "AuditEntryPublic",
    "AuditFilter",
    "VerifyReport",
    "append",
    "append_in",
    "append_many",
    "append_many_in",
    "canonical_json",
    "entry_hash",
    "export_csv",
    "export_jsonl",
    "get_entry",
    "iter_query",
    "query",
    "read_csv",
    "read_jsonl",
    "to_public",
    "verify",
    "verify_rows",
]
