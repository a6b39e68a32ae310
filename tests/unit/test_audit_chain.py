"""The audit hash chain without a database: the canonical form is pinned byte for byte, and
`verify_rows` finds every kind of tampering and names the first broken seq."""

from __future__ import annotations

import hashlib
import io
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from core.audit import (
    GENESIS_HASH,
    HASHED_FIELDS,
    ActorKind,
    AuditAction,
    AuditEntryCreate,
    AuditEntryPublic,
    canonical_json,
    entry_hash,
    export_csv,
    export_jsonl,
    read_csv,
    read_jsonl,
    verify_rows,
)
from core.vault import pseudonym

SECRET = b"k" * 32
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _subject(n: int) -> str:
    return pseudonym(f"E{n}", secret=SECRET)


def _create(n: int) -> AuditEntryCreate:
    return AuditEntryCreate(
        event_id=f"evt_{n}",
        receipt_id=f"rcpt_{n:032x}",
        subject=_subject(n % 3),
        actor="agent:provisioning",
        actor_kind=ActorKind.agent,
        action=AuditAction.decision_made,
        rule="title:embedded",
        confidence=0.1 * (n % 10),
        before={"groups": ["all-staff"]},
        after={"groups": ["all-staff", "dept-eng"], "note": "Größe ✓"},
        provenance={"rules_fired": ["R1", "R7"], "confidence": 1 / 3, "memory_hit": n % 2 == 0},
        decision={"reviewer": "reviewer:ana", "decision": "approve"} if n % 4 == 0 else None,
    )


def _chain(count: int, *, start: int = 1, prev_hash: str = GENESIS_HASH) -> list[AuditEntryPublic]:
    """What the database would hold: seq, at and hashes assigned as ``append`` does."""
    rows = []
    for seq in range(start, start + count):
        values: dict[str, Any] = _create(seq).model_dump(mode="json")
        values.update(seq=seq, at=T0 + timedelta(seconds=seq), prev_hash=prev_hash)
        values["hash"] = prev_hash = entry_hash(values)
        rows.append(AuditEntryPublic.model_validate(values))
    return rows


def _rehash(row: AuditEntryPublic, **changes: Any) -> AuditEntryPublic:
    values = row.model_dump() | changes
    values["hash"] = entry_hash(values)
    return AuditEntryPublic.model_validate(values)


# --- canonical form -----------------------------------------------------------------------


def test_canonical_json_is_sorted_compact_utf8_with_float_reprs() -> None:
    value = {"b": [1, 0.1, 1e-07, 2.5e20], "a": "Größe ✓", "c": {"z": None, "y": True}}
    assert canonical_json(value) == (
        '{"a":"Größe ✓","b":[1,0.1,1e-07,2.5e+20],"c":{"y":true,"z":null}}'
    )
    with pytest.raises(ValueError, match="not JSON compliant"):
        canonical_json({"x": math.nan})


def test_the_hash_is_sha256_of_the_documented_canonical_object() -> None:
    """Pinned literally, so that a change of the format (which would orphan every existing
    chain) cannot go unnoticed; an outside verifier can rely on this recipe."""
    fields: dict[str, Any] = {
        "seq": 1,
        "at": datetime(2026, 3, 1, 10, 30, tzinfo=UTC) + timedelta(hours=-1),
        "event_id": "evt_1",
        "receipt_id": None,
        "subject": None,
        "actor": "system",
        "actor_kind": ActorKind.system,
        "action": AuditAction.retention_purge,
        "rule": None,
        "confidence": 0.75,
        "before": None,
        "after": {"inbox_payloads_redacted": 3},
        "provenance": {},
        "decision": None,
        "prev_hash": GENESIS_HASH,
    }
    expected = (
        '{"action":"retention_purge","actor":"system","actor_kind":"system",'
        '"after":{"inbox_payloads_redacted":3},"at":"2026-03-01T09:30:00.000000+00:00",'
        '"before":null,"confidence":0.75,"decision":null,"event_id":"evt_1",'
        f'"prev_hash":"{GENESIS_HASH}","provenance":{{}},"receipt_id":null,"rule":null,'
        '"seq":1,"subject":null}'
    )
    assert entry_hash(fields) == hashlib.sha256(expected.encode("utf-8")).hexdigest()
    # The same moment in another zone is the same content.
    shifted = fields | {"at": fields["at"].astimezone(datetime.now().astimezone().tzinfo)}
    assert entry_hash(shifted) == entry_hash(fields)


@pytest.mark.parametrize("name", [n for n in HASHED_FIELDS if n not in ("at", "seq")])
def test_every_content_field_is_covered_by_the_hash(name: str) -> None:
    row = _chain(1)[0].model_dump()
    changed = {
        "confidence": 0.5,
        "actor_kind": "reviewer",
        "action": "lms_write",
        "subject": _subject(99),
        "before": {"groups": []},
        "after": None,
        "provenance": {"rules_fired": ["R1"]},
        "decision": {"reviewer": "reviewer:bo"},
    }.get(name, "changed")
    assert entry_hash(row | {name: changed}) != entry_hash(row)


def test_seq_and_time_are_covered_by_the_hash() -> None:
    row = _chain(1)[0].model_dump()
    assert entry_hash(row | {"seq": 2}) != entry_hash(row)
    assert entry_hash(row | {"at": row["at"] + timedelta(microseconds=1)}) != entry_hash(row)


# --- verify_rows --------------------------------------------------------------------------


def test_an_intact_chain_verifies_and_reports_its_head() -> None:
    rows = _chain(10)
    report = verify_rows(rows)
    assert report.ok and report.checked == 10
    assert (report.head_seq, report.head_hash) == (10, rows[-1].hash)
    assert report.first_broken_seq is None and report.problem is None
    assert verify_rows([]).ok


def test_an_edited_entry_is_named() -> None:
    rows = _chain(10)
    rows[4] = rows[4].model_copy(update={"after": {"groups": ["admins"]}})
    report = verify_rows(rows)
    assert not report.ok
    assert report.first_broken_seq == 5 and report.checked == 4
    assert "edited" in (report.problem or "")


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link() -> None:
    rows = _chain(10)
    rows[4] = _rehash(rows[4], after={"groups": ["admins"]})
    report = verify_rows(rows)
    assert (report.ok, report.first_broken_seq) == (False, 6)
    assert "prev_hash of seq 6" in (report.problem or "")


def test_a_deleted_entry_is_named() -> None:
    rows = _chain(10)
    del rows[6]
    report = verify_rows(rows)
    assert (report.ok, report.first_broken_seq, report.checked) == (False, 7, 6)
    assert "seq 7 missing" in (report.problem or "")


def test_a_deleted_first_entry_is_named() -> None:
    """A chain from the database must start at seq 1: a segment's anchor would otherwise
    hide the loss of the first entries."""
    rows = _chain(5)
    renumbered = [_rehash(rows[1], seq=1, prev_hash=GENESIS_HASH)]
    report = verify_rows([*renumbered, *rows[2:]])
    assert (report.ok, report.first_broken_seq) == (False, 2)
    bad_genesis = _rehash(rows[0], prev_hash="f" * 64)
    assert verify_rows([bad_genesis, *rows[1:]]).first_broken_seq == 1


def test_reordered_entries_are_named() -> None:
    rows = _chain(10)
    rows[2], rows[3] = rows[3], rows[2]
    report = verify_rows(rows)
    assert (report.ok, report.first_broken_seq) == (False, 3)


def test_entries_whose_seqs_were_swapped_are_named() -> None:
    rows = _chain(10)
    third, fourth = rows[2], rows[3]
    rows[2] = fourth.model_copy(update={"seq": 3})
    rows[3] = third.model_copy(update={"seq": 4})
    report = verify_rows(rows)
    assert (report.ok, report.first_broken_seq) == (False, 3)


def test_an_inserted_entry_is_named() -> None:
    rows = _chain(10)
    forged = _rehash(rows[4], seq=6, prev_hash=rows[4].hash, actor="reviewer:mallory")
    shifted = [row.model_copy(update={"seq": row.seq + 1}) for row in rows[5:]]
    report = verify_rows([*rows[:5], forged, *shifted])
    # The forgery links back correctly; the entry after it can no longer link to it.
    assert (report.ok, report.first_broken_seq, report.checked) == (False, 7, 6)
    duplicate = verify_rows([*rows[:5], forged, *rows[5:]])
    assert (duplicate.ok, duplicate.first_broken_seq) == (False, 6)
    assert "out of order" in (duplicate.problem or "")


def test_a_segment_verifies_from_its_own_anchor() -> None:
    rows = _chain(12)
    assert verify_rows(rows[4:9]).ok
    assert verify_rows(rows[4:9]).checked == 5
    broken = [*rows[4:6], *rows[7:9]]
    assert verify_rows(broken).first_broken_seq == 7


def test_one_persons_entries_verify_one_by_one() -> None:
    rows = _chain(30)
    subject = rows[0].subject
    history = [row for row in rows if row.subject == subject]
    assert not verify_rows(history).ok  # not contiguous
    assert verify_rows(history, linked=False).ok
    history[3] = history[3].model_copy(update={"rule": "title:manual"})
    assert verify_rows(history, linked=False).first_broken_seq == history[3].seq


# --- exports ------------------------------------------------------------------------------


def test_jsonl_and_csv_exports_round_trip_and_reverify() -> None:
    rows = _chain(20)
    for export, read in ((export_jsonl, read_jsonl), (export_csv, read_csv)):
        buffer = io.StringIO(newline="")
        assert export(rows, buffer) == 20
        again = list(read(io.StringIO(buffer.getvalue(), newline="")))
        assert again == rows, export.__name__
        assert verify_rows(again).ok


def test_a_tampered_export_fails_verification() -> None:
    buffer = io.StringIO()
    export_jsonl(_chain(8), buffer)
    lines = buffer.getvalue().splitlines()
    entry = json.loads(lines[3])
    entry["decision"] = {"reviewer": "reviewer:mallory", "decision": "approve"}
    lines[3] = json.dumps(entry)
    report = verify_rows(read_jsonl(lines))
    assert (report.ok, report.first_broken_seq) == (False, 4)


def test_csv_import_refuses_foreign_columns() -> None:
    with pytest.raises(ValueError, match="not an audit export"):
        list(read_csv(io.StringIO("seq,at\n1,2026-01-01\n")))


# --- what goes in -------------------------------------------------------------------------


def test_entries_refuse_raw_ids_and_impossible_confidences() -> None:
    base: dict[str, Any] = {"actor": "system", "actor_kind": "system", "action": "erasure"}
    with pytest.raises(ValidationError, match="pattern"):
        AuditEntryCreate(**base, subject="E10001")
    with pytest.raises(ValidationError):
        AuditEntryCreate(**base, confidence=1.5)
    with pytest.raises(ValidationError):
        AuditEntryCreate(**(base | {"action": "deleted_everything"}))
    with pytest.raises(ValidationError):
        AuditEntryCreate(**base, rule="")  # an empty text would not survive a CSV export
    assert AuditEntryCreate(**base, subject=_subject(1)).subject == _subject(1)
