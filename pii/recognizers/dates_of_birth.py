"""Dates of birth: a date is personal only when birth context says so."""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer

from pii.recognizers.entities import DATE_OF_BIRTH
from pii.recognizers.prechecked import GatedPatternRecognizer, min_digits

_MONTH = (
    r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
DEFAULT_DOB_PATTERNS: tuple[Pattern, ...] = (
    # dates are everywhere in HR text (start dates, deadlines); only birth context makes one
    # personal, so every pattern stays under the threshold until context lifts it
    Pattern("numeric", r"(?<![\w/.-])\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}(?![\w/-])", 0.1),
    Pattern("day_month_year", rf"(?<!\w)\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}\b", 0.1),
    Pattern("month_day_year", rf"(?<!\w){_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b", 0.1),
)
# context is compared with lemmas: "born" arrives as "bear"
DOB_CONTEXT: tuple[str, ...] = (
    "born",
    "bear",
    "birth",
    "birthday",
    "dob",
    "d.o.b",
    "birthdate",
    "bday",
)


def date_of_birth_recognizer() -> PatternRecognizer:
    return GatedPatternRecognizer(
        gate=min_digits(3),  # "1/2/85" at the least
        supported_entity=DATE_OF_BIRTH,
        name="DateOfBirthRecognizer",
        patterns=list(DEFAULT_DOB_PATTERNS),
        context=list(DOB_CONTEXT),
    )
