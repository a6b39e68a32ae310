"""The only way text from a run gets into the audit trail or an inbox outcome.

The audit trail is append-only and hash-chained: nothing written there can be erased, so a
person's phone number that slips in stays after ``talentsync erase``. It did: a profile
skill the scrubber did not know as personal ("cell +44 7700 900123") went into the model
view as it was, and from there, as "scrubbed text", into every audit entry and outcome of
the run. Scrubbing once upstream is not enough for a record that can never be corrected.

So every string bound for the audit or an outcome passes `AuditScreen`, here, on its own:

- `AuditScreen.text` for free text (a skill or title as the model view held it, a
  rationale, an evidence line): the PII firewall must pass it as audit text, and it may hold
  no run of seven or more digits that the run's own vocabulary does not explain (a number
  no recognizer could name is not kept on the chance it is harmless). Otherwise the value
  is replaced by `WITHHELD`; the raw string is never stored, whatever the reason.
- `AuditScreen.payload` for a whole JSON payload (an entry's before/after/provenance/
  decision, an outcome): every string leaf not already admitted by ``text`` goes through the
  firewall. That sweep is what makes the next leak hard: a field added later to an entry is
  screened without anyone remembering to. Dict keys are not screened: they are our own names.

Admitted text is an `AuditText`, which only this module makes, so a function that wants
screened text can say so in its signature and the type checker holds callers to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pii.allowlist import AllowedTerms
from pii.firewall import Channel, FirewallRefusalError, PIIFirewall
from pii.identity import RecordIdentity

WITHHELD: Final = "[withheld: refused by the PII firewall]"
"""What the audit holds instead of a value the screen refused."""

_ADMITTED = object()
_LONG_NUMBER = re.compile(r"\d(?:[ \t./\-()]?\d){6,}")
# dates and year ranges are long digit runs that name no one ("2019-2023", "2026-11-03")
_DATE_OR_YEARS = re.compile(
    r"(?:19|20)\d\d[-/](?:19|20)\d\d|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}"
)
_PLACEHOLDER = re.compile(r"<[A-Z_]+_\d+>")


class AuditText(str):
    """Text that passed `AuditScreen` (or the `WITHHELD` marker that replaced it)."""

    __slots__ = ()

    def __new__(cls, value: str, *, admitted: object = None) -> AuditText:
        if admitted is not _ADMITTED:
            raise TypeError("AuditText is made by AuditScreen only")
        return super().__new__(cls, value)


def _admit(value: str) -> AuditText:
    return AuditText(value, admitted=_ADMITTED)


def _unexplained_number(text: str) -> bool:
    return any(_DATE_OR_YEARS.fullmatch(run.group()) is None for run in _LONG_NUMBER.finditer(text))


@dataclass(frozen=True)
class AuditScreen:
    """The firewall, the record's identity (its known values) and our own vocabulary
    (catalog ids and labels, receipt ids, the pseudonym), for one run."""

    firewall: PIIFirewall
    identity: RecordIdentity
    allowed: AllowedTerms
    # the firewall's verdict on each string this screen has seen: a run's outcome and its
    # audit entries repeat the same values (group ids, actions, the title), ~36 checks an event
    _verdicts: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def with_terms(self, terms: Iterable[str]) -> AuditScreen:
        return AuditScreen(self.firewall, self.identity, self.allowed.extended(terms))

    def text(self, value: str | None) -> AuditText | None:
        if value is None or isinstance(value, AuditText):
            return value
        if not self._passes(value):
            return _admit(WITHHELD)
        if _unexplained_number(_PLACEHOLDER.sub(" ", self.allowed.mask(value))):
            return _admit(WITHHELD)
        return _admit(value)

    def texts(self, values: Iterable[str]) -> list[AuditText]:
        return [_admit(WITHHELD) if t is None else t for t in map(self.text, values)]

    def payload(self, value: Any) -> Any:
        """A copy of a JSON value with every string screened (see the module docstring), as
        plain JSON types, ready for a JSON column or a checkpoint."""
        if isinstance(value, AuditText):
            return str(value)
        if isinstance(value, str):
            return value if self._passes(value) else WITHHELD
        if isinstance(value, Mapping):
            return {str(k): self.payload(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.payload(v) for v in value]
        return value  # numbers, booleans, None

    def _passes(self, value: str) -> bool:
        verdict = self._verdicts.get(value)
        if verdict is None:
            verdict = self._verdicts[value] = self._firewall_passes(value)
        return verdict

    def _firewall_passes(self, value: str) -> bool:
        try:
            self.firewall.check(
                value, identity=self.identity, channel=Channel.audit_text, allowed=self.allowed
            )
        except FirewallRefusalError:
            return False
        return True


__all__ = ["WITHHELD", "AuditScreen", "AuditText"]
