"""Which fields of an employee record a model may ever see: a default-deny allow-list.

Names, emails, ids, the manager and every date stay out whatever the free text says. Of
the allowed fields, only validated codes go as they are; anything a person could type
(title, site, department, even a job code an HRIS admin filled in by hand) is scrubbed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.employee import Employee
from pii.identity import RecordIdentity
from pii.placeholders import PlaceholderMap
from pii.scrubber import FieldReading, Scrubber

FieldReaders = Callable[[str], FieldReading | None]
"""Field name (``title``, ``skills.0``) -> how it is read, or None: as free text
(`pii.hr_fields.HRFieldReaders.for_field`)."""


@dataclass(frozen=True)
class FieldPolicy:
    # Enumerations and pattern-validated codes: no room for personal data inside them.
    structured: frozenset[str] = frozenset({"country", "worker_type", "employment_status"})
    # Free text typed by people: may hold a name, a phone number, anything.
    free_text: frozenset[str] = frozenset({"title", "location", "department", "job_code", "skills"})

    def is_free_text(self, key: str) -> bool:
        """``key`` is a field name, or ``field.N`` for item N of a list field."""
        return key.split(".", 1)[0] in self.free_text

    @property
    def allowed(self) -> frozenset[str]:
        return self.structured | self.free_text


@dataclass(frozen=True)
class ModelView:
    """What a model may be shown of one record, and what scrubbing found on the way."""

    fields: dict[str, str]
    findings: dict[str, int] = field(default_factory=dict)  # entity type -> count, no values


def model_view(
    employee: Employee,
    *,
    scrubber: Scrubber,
    identity: RecordIdentity,
    placeholders: PlaceholderMap,
    policy: FieldPolicy | None = None,
    readers: FieldReaders | None = None,
) -> ModelView:
    policy = policy or FieldPolicy()
    present = _allowed_values(employee, policy)
    typed = [name for name in present if policy.is_free_text(name)]
    scrubbed = scrubber.scrub_many(
        [present[name] for name in typed],
        identity=identity,
        placeholders=placeholders,
        readings=[readers(name) for name in typed] if readers else (),
    )
    findings: dict[str, int] = {}
    for name, result in zip(typed, scrubbed, strict=True):
        present[name] = result.text
        for finding in result.findings:
            findings[finding.entity_type] = findings.get(finding.entity_type, 0) + 1
    return ModelView(fields=present, findings=findings)


def free_text_values(
    employee: Employee, policy: FieldPolicy | None = None, readers: FieldReaders | None = None
) -> list[str]:
    """The texts `model_view` has analysed for this record, in the order it scrubs them
    (with `readers`: less those their field's reading settles without analysis)."""
    policy = policy or FieldPolicy()
    present = _allowed_values(employee, policy)
    values: list[str] = []
    for name, value in present.items():
        if not policy.is_free_text(name):
            continue
        reading = readers(name) if readers else None
        if reading is None or not reading.settles(value):
            values.append(value)
    return values


def _allowed_values(employee: Employee, policy: FieldPolicy) -> dict[str, str]:
    """Each item of a list field (skills) is its own entry, ``skills.0`` ..., so it is
    scrubbed, checked and read back on its own."""
    record = employee.model_dump(mode="json")
    values: dict[str, str] = {}
    for name in sorted(policy.allowed):
        value = record.get(name)
        if isinstance(value, list):
            values.update({f"{name}.{i}": str(item) for i, item in enumerate(value) if item})
        elif value not in (None, ""):
            values[name] = str(value)
    return values
