"""Phone numbers: python-phonenumbers matching tuned for HR text, and digit groups with
context for the national formats it rejects."""

from __future__ import annotations

import re
from collections.abc import Sequence

import phonenumbers
from presidio_analyzer import AnalysisExplanation, EntityRecognizer, Pattern, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from pii.recognizers.prechecked import GatedPatternRecognizer, digit_count

PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "IN", "AU", "NL", "ES", "IT", "BR")
"""Where national formats are parsed; each region is one more python-phonenumbers pass over
the text (the costliest recognizer). Numbers with a "+" prefix are found by any region, and
other national formats by the digit-group pattern with context."""

# python-phonenumbers compiles its metadata patterns with `re.compile` on every match, relying
# on `re`'s cache of 512 patterns; ten regions plus everything else in the process overflow
# it, and then most of this recognizer's time went into recompiling. Its own cache keeps
# them (bounded by the metadata); older releases without it just recompile.
_enable_phone_pattern_cache = getattr(phonenumbers, "enable_pattern_cache", None)
if _enable_phone_pattern_cache is not None:
    _enable_phone_pattern_cache()

PHONE_CONTEXT: tuple[str, ...] = (
    "phone", "number", "telephone", "tel", "cell", "cellphone", "mobile", "call", "reach",
    "contact", "fax", "text", "whatsapp", "dial", "ring",
)  # fmt: skip

# digit groups with separators, 7 to 15 digits in all; weak alone (could be an amount or an
# order number), so context words decide. phonenumbers covers the well-formed cases.
_PHONE_FALLBACK = Pattern(
    "phone_groups",
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(0?\)\s?)?(?:\(\d{1,5}\)[ .-]?)?"
    r"\d{2,5}(?:[ .-]\d{2,5}){1,4}(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w-])",
    0.25,
)


_DATE_LIKE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")


def _looks_like_date(value: str) -> bool:
    """ "2026-01-05" passes as a phone number in several regions; in HR text it is a date."""
    return _DATE_LIKE.fullmatch(value.strip()) is not None


class HRPhoneRecognizer(PhoneRecognizer):
    """python-phonenumbers matching, minus the dates it accepts as numbers."""

    def may_match(self, text: str) -> bool:
        return digit_count(text) >= _MIN_PHONE_DIGITS  # no window has fewer

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[RecognizerResult]:
        # python-phonenumbers walks the whole text once per region: give it only the
        # stretches that could hold a number (digits, separators, an "ext"), with a little
        # text either side for its own boundary checks, and stop trying regions once one
        # has matched the whole stretch (no other region can find more there).
        results: list[RecognizerResult] = []
        for (start, end), (core_start, core_end) in _phone_windows(text):
            if self._leniency >= phonenumbers.Leniency.VALID and _glued_to_letters(
                text, core_start, core_end
            ):
                continue
            window = text[start:end]
            for region in self.supported_regions:
                whole = False
                for match in phonenumbers.PhoneNumberMatcher(window, region, self._leniency):
                    found = self._result(text, start, match, region)
                    if not _looks_like_date(text[found.start : found.end]):
                        results.append(found)
                    whole = whole or (found.start <= core_start + 1 and found.end >= core_end - 1)
                if whole:
                    break
        return EntityRecognizer.remove_duplicates(results)

    def _result(
        self, text: str, offset: int, match: phonenumbers.PhoneNumberMatch, region: str
    ) -> RecognizerResult:
        start, end = offset + match.start, offset + match.end
        if _international(match.raw_string):
            # a "+" number names its own country (for the explanation only: the country
            # code's main region, not a validity check against every region sharing it)
            country = match.number.country_code or 0
            region = phonenumbers.region_code_for_country_code(country) or region
        return RecognizerResult(
            entity_type=self.supported_entities[0],
            start=start,
            end=end,
            score=self.SCORE,
            analysis_explanation=AnalysisExplanation(
                recognizer=PhoneRecognizer.__name__,
                original_score=self.SCORE,
                textual_explanation=f"Recognized as {region} region phone number",
            ),
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: type(self).__name__,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )

    @property
    def _leniency(self) -> int:
        return self.leniency if self.leniency is not None else 1


_PHONE_STRETCH = re.compile(r"\+?\(?\d[\d\s().\-/]*(?:\s?(?:x|ext\.?)\s?\d{1,5})?", re.IGNORECASE)
_MIN_PHONE_DIGITS = 5
_PHONE_MARGIN = 3


def _international(raw: str) -> bool:
    """Whether the number starts with a plus, where python-phonenumbers starts reading it."""
    for char in raw:
        if char in "+\uff0b":
            return True
        if char.isdigit():
            return False
    return False


def _glued_to_letters(text: str, start: int, end: int) -> bool:
    """A bare digit run with a Latin letter right before or after it ("E20417", "20417b").

    python-phonenumbers (at leniency VALID and above) rejects a candidate touching a Latin
    letter, and a bare digit run has no separator to find a smaller number inside: every
    region would be tried for nothing. Employee ids look exactly like this.
    """
    end = start + len(text[start:end].rstrip(")"))  # "(badge E20417)": the ")" ends no number
    if end == start or not text[start:end].isdigit():
        return False
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    return (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha())


def _phone_windows(text: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Stretches of digits and phone separators holding enough digits for a number:
    (window with a margin either side, the stretch itself)."""
    windows: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for match in _PHONE_STRETCH.finditer(text):
        value = match.group()
        if sum(char.isdigit() for char in value) < _MIN_PHONE_DIGITS:
            continue
        core = (match.start(), match.start() + len(value.rstrip(" \t\n.-/(")))
        window = (
            max(0, match.start() - _PHONE_MARGIN),
            min(len(text), match.end() + _PHONE_MARGIN),
        )
        if windows and window[0] <= windows[-1][0][1]:
            (previous_start, _), (previous_core_start, _) = windows[-1]
            windows[-1] = ((previous_start, window[1]), (previous_core_start, core[1]))
        else:
            windows.append((window, core))
    return windows


class PhoneGroupsRecognizer(GatedPatternRecognizer):
    """Catches national formats phonenumbers rejects for the regions configured."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="PHONE_NUMBER",
            name="PhoneGroupsRecognizer",
            patterns=[_PHONE_FALLBACK],
            context=list(PHONE_CONTEXT),
        )

    def may_match(self, text: str) -> bool:
        return digit_count(text) >= 7  # fewer are invalidated below

    def invalidate_result(self, pattern_text: str) -> bool | None:
        digits = sum(char.isdigit() for char in pattern_text)
        return not 7 <= digits <= 15 or _looks_like_date(pattern_text)


def phone_recognizers(regions: Sequence[str] = PHONE_REGIONS) -> list[EntityRecognizer]:
    return [
        HRPhoneRecognizer(context=list(PHONE_CONTEXT), supported_regions=tuple(regions)),
        PhoneGroupsRecognizer(),
    ]
