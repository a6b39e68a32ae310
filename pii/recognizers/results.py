"""How TalentSync's own recognizers report a finding: the way Presidio's pattern recognizers do.

Every result carries an explanation (the recognizer, its score, why) and the recognizer's name
and id. The context enhancer writes its supporting word and new score into the explanation,
and the scrubber tells the record's own values apart by the name (`DENY_LIST_RECOGNIZER`), so
a recognizer that builds its results by hand builds them here.
"""

from __future__ import annotations

from typing import Protocol

from presidio_analyzer import AnalysisExplanation, RecognizerResult


class Reporting(Protocol):
    """A recognizer, as far as its results name it (Presidio sets both, untyped)."""

    @property
    def name(self) -> str: ...

    @property
    def id(self) -> str: ...


def explained_result(
    recognizer: Reporting, entity_type: str, start: int, end: int, score: float, why: str
) -> RecognizerResult:
    return RecognizerResult(
        entity_type=entity_type,
        start=start,
        end=end,
        score=score,
        analysis_explanation=AnalysisExplanation(
            recognizer=recognizer.name, original_score=score, textual_explanation=why
        ),
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
        },
    )
