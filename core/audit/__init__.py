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

The package: ``entry`` (the entry and its table, whose append-only triggers the
migrations create), ``chain`` (hashing, appending, verifying), ``query`` (filters and
pages) and ``export`` (JSON Lines and CSV that re-verify outside the database).
Everything a caller needs is importable from ``core.audit`` itself.
"""

from __future__ import annotations

from core.audit.chain import (
    VerifyReport,
    append,
    append_in,
    append_many,
    append_many_in,
    canonical_json,
    entry_hash,
    extend_in,
    verify,
    verify_rows,
)
from core.audit.entry import (
    ALL_FIELDS,
    GENESIS_HASH,
    HASHED_FIELDS,
    ActorKind,
    AuditAction,
    AuditEntry,
    AuditEntryBase,
    AuditEntryCreate,
    AuditEntryPublic,
)
from core.audit.export import export_csv, export_jsonl, read_csv, read_jsonl
from core.audit.query import (
    AuditFilter,
    after_seq_of_newest,
    get_entry,
    iter_query,
    latest,
    query,
    to_public,
)

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
    "after_seq_of_newest",
    "append",
    "append_in",
    "append_many",
    "append_many_in",
    "canonical_json",
    "entry_hash",
    "export_csv",
    "export_jsonl",
    "extend_in",
    "get_entry",
    "iter_query",
    "latest",
    "query",
    "read_csv",
    "read_jsonl",
    "to_public",
    "verify",
    "verify_rows",
]
