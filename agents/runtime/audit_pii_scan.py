"""Which audit entries hold text the PII firewall would refuse today.

The audit trail is append-only and hash-chained, so an entry written before the audit screen
(`pii.audit_text`), or before a recognizer learnt a format, can hold a phone number or
an id number as it was typed, and no upgrade can take it out without breaking the chain.
What an operator can do is know: this scan names those entries by ``seq`` with the entity
types found, never the values, so that they can be reported and handled under the data
protection process (an export, or a re-based chain, is the operator's decision, not ours).

It checks patterns only (phones, emails, id numbers, cards, addresses): the people those
entries were about may be erased, so there are no record values to compare names against.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from core import audit
from core.audit import AuditEntry
from core.catalog import Catalog
from pii.allowlist import AllowedTerms
from pii.firewall import Channel, FirewallRefusalError, PIIFirewall
from pii.identity import RecordIdentity

_JSON_FIELDS = ("before", "after", "provenance", "decision")


@dataclass(frozen=True)
class FlaggedEntry:
    seq: int
    action: str
    receipt_id: str | None
    entity_types: tuple[str, ...]


def scan_audit(
    engine: Engine, *, firewall: PIIFirewall, catalog: Catalog
) -> Iterator[FlaggedEntry]:
    """Every entry one of whose strings the firewall refuses as audit text, in seq order."""
    vocabulary = AllowedTerms([*catalog.by_id, *(g.display_name for g in catalog.groups)])
    nobody = RecordIdentity()
    for page in audit.iter_query(engine):
        for row in page:
            found = _refused_types(row, firewall=firewall, vocabulary=vocabulary, nobody=nobody)
            if found:
                yield FlaggedEntry(row.seq, str(row.action), row.receipt_id, found)


def _refused_types(
    row: AuditEntry, *, firewall: PIIFirewall, vocabulary: AllowedTerms, nobody: RecordIdentity
) -> tuple[str, ...]:
    own = vocabulary.extended(v for v in (row.receipt_id, row.subject, row.event_id) if v)
    found: set[str] = set()
    for value in _strings([getattr(row, name) for name in _JSON_FIELDS]):
        try:
            firewall.check(value, identity=nobody, channel=Channel.audit_text, allowed=own)
        except FirewallRefusalError as refused:
            found.update(refused.refusal.entity_types)
    return tuple(sorted(found))


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


__all__ = ["FlaggedEntry", "scan_audit"]
