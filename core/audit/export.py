"""Exports anyone can re-verify without this service: JSON Lines and CSV carry every
field and both hashes, and read back into entries that ``verify_rows`` checks."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from core.audit.chain import canonical_json
from core.audit.entry import (
    ALL_FIELDS,
    JSON_FIELDS,
    AuditEntry,
    AuditEntryPublic,
    fields_of,
    iso_utc,
)


def _plain(row: AuditEntry | AuditEntryPublic) -> dict[str, Any]:
    values = dict(fields_of(row))
    values["at"] = iso_utc(values["at"])
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
            elif name in JSON_FIELDS:
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
            elif name in JSON_FIELDS:
                values[name] = json.loads(cell)
            else:
                values[name] = cell
        yield AuditEntryPublic.model_validate(values)
