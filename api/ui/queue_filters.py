"""The review queue's filters as a person types them into the page: parsed leniently (a
value that does not parse is dropped with a sentence saying so) and shown back in the form,
with the employee's HRIS id turned into its pseudonym at once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from api.ui.present import short_subject
from core.reviews import ReviewFilter, ReviewStatus
from core.vault import PSEUDONYM_PREFIX, VaultKeys, pseudonym


@dataclass
class QueueFilters:
    """The queue's filters as the person typed them, so the form shows them back; the
    employee's HRIS id is never kept: it becomes the pseudonymous ``subject`` at once."""

    status: str = ReviewStatus.pending.value
    rule: str = ""
    flag: str = ""
    min_confidence: str = ""
    max_confidence: str = ""
    older_than_hours: str = ""
    subject: str = ""
    problems: list[str] = field(default_factory=list)

    def query(self, **extra: str) -> str:
        pairs = {
            "status": self.status,
            "rule": self.rule,
            "flag": self.flag,
            "min_confidence": self.min_confidence,
            "max_confidence": self.max_confidence,
            "older_than_hours": self.older_than_hours,
            "subject": self.subject,
            **extra,
        }
        return urlencode({k: v for k, v in pairs.items() if v})

    def where(self) -> ReviewFilter:
        older = _number(self.older_than_hours)
        return ReviewFilter(
            status=None if self.status == "any" else ReviewStatus(self.status),
            rule=self.rule or None,
            flag=self.flag or None,
            min_confidence=_number(self.min_confidence),
            max_confidence=_number(self.max_confidence),
            older_than=timedelta(hours=older) if older is not None else None,
            subject=self.subject or None,
        )

    @property
    def subject_short(self) -> str:
        return short_subject(self.subject)


def _number(text: str) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def parse_filters(values: Mapping[str, str], vault_keys: VaultKeys) -> QueueFilters:
    """Lenient: a value that does not parse is dropped with a sentence saying so, instead of
    a 422 page that would lose the rest of the filters."""
    found = QueueFilters()
    status = values.get("status", ReviewStatus.pending.value).strip() or "any"
    if status == "any" or status in {s.value for s in ReviewStatus}:
        found.status = status
    else:
        found.problems.append(f"Unknown status {status!r}: showing pending reviews.")
    found.rule = values.get("rule", "").strip()[:64]
    found.flag = values.get("flag", "").strip()[:64]
    for name, low, high in (
        ("min_confidence", 0.0, 1.0),
        ("max_confidence", 0.0, 1.0),
        ("older_than_hours", 0.0, 24.0 * 365),
    ):
        text = values.get(name, "").strip()
        number = _number(text)
        if text and (number is None or not low <= number <= high):
            label = name.replace("_", " ")
            found.problems.append(
                f"Ignored {label} {text!r}: give a number from {low:g} to {high:g}."
            )
            continue
        setattr(found, name, text)
    employee = values.get("employee", "").strip()
    if employee:
        found.subject = pseudonym(employee, secret=vault_keys.pseudonym)
    else:
        subject = values.get("subject", "").strip()
        found.subject = (
            subject if subject.startswith(PSEUDONYM_PREFIX) and len(subject) <= 128 else ""
        )
    return found
