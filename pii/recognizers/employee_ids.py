"""Employee ids: Presidio has none, and spaCy tags "E12345" as a person."""

from __future__ import annotations

from collections.abc import Sequence

from presidio_analyzer import Pattern, PatternRecognizer

from pii.recognizers.entities import EMPLOYEE_ID
from pii.recognizers.prechecked import GatedPatternRecognizer, min_digits

DEFAULT_EMPLOYEE_ID_PATTERNS: tuple[Pattern, ...] = (
    # "E12345": the shape most HRIS use; spaCy otherwise tags it PERSON
    Pattern("employee_id_e_prefix", r"(?<![\w.-])E\d{4,7}(?![\w.-])", 0.5),
    # "EMP-004211", "AB123456": a short letter prefix, optional dash, digits; weak on its
    # own (could be a ticket or a product code), context makes it an id. O*NET-SOC job
    # codes ("15-1252.00") have no letter prefix, so they never match.
    Pattern("employee_id_prefixed", r"(?<![\w.-])[A-Z]{1,3}-?\d{4,8}(?![\w.-])", 0.3),
    # bare digits only count next to a strong word ("badge 0042817")
    Pattern("employee_id_digits", r"(?<![\w.-])#?\d{5,8}(?![\w.-])", 0.1),
)
EMPLOYEE_ID_CONTEXT: tuple[str, ...] = (
    "employee",
    "id",
    "badge",
    "staff",
    "worker",
    "emp",
    "personnel",
    "payroll",
    "#",
)


def employee_id_recognizer(patterns: Sequence[Pattern] | None = None) -> PatternRecognizer:
    """Patterns are configurable because every HRIS numbers its workers differently."""
    return GatedPatternRecognizer(
        # every default pattern has at least four digits; custom ones are always run
        gate=min_digits(4) if patterns is None else None,
        supported_entity=EMPLOYEE_ID,
        name="EmployeeIdRecognizer",
        patterns=list(patterns or DEFAULT_EMPLOYEE_ID_PATTERNS),
        context=list(EMPLOYEE_ID_CONTEXT),
    )
