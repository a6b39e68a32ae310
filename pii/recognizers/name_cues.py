"""Names the sentence itself announces: "my name is ...", "Mrs. ..."."""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer

from pii.recognizers.entities import PERSON
from pii.recognizers.prechecked import CASE_SENSITIVE

NAME_CUE_PATTERNS: tuple[Pattern, ...] = (
    Pattern(
        "introduced_name",
        r"(?<=\b(?i:name\s+is|name:|named|calls\s+me|called|known\s+as)\s+)"
        r"\p{L}[\p{L}'\u2019\-]+(?:\s+\p{Lu}\.?)?(?:\s+\p{Lu}[\p{L}'\u2019\-]+)?",
        0.6,
    ),
    Pattern(
        "honorific",
        r"(?<=\b(?i:mr|mrs|ms|miss|mx|dr|prof)\.?\s+)\p{Lu}[\p{L}'\u2019\-]+"
        r"(?:\s+\p{Lu}[\p{L}'\u2019\-]+)?",
        0.7,
    ),
)


def name_cue_recognizer() -> PatternRecognizer:
    """Names announced by the sentence itself: "my name is …", "Mrs. …"."""
    return PatternRecognizer(
        supported_entity=PERSON,
        name="NameCueRecognizer",
        patterns=list(NAME_CUE_PATTERNS),
        global_regex_flags=CASE_SENSITIVE,
    )
