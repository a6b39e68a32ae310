"""Pattern recognizers that skip the texts they cannot match, and Presidio's own, so gated.

Counting digits (or looking for an "@") is far cheaper than running a dozen patterns to find
nothing, and titles, sites and scrubbed prompts rarely hold any: every pattern recognizer of
the standard set runs behind such a check.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import Any, cast

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.pattern_recognizer import REGEX_TIMEOUT_SECONDS
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    UsSsnRecognizer,
)

logger = logging.getLogger(__name__)

# Case-sensitive, multi-line: capitalisation is evidence for names of streets, so the
# IGNORECASE Presidio applies by default would throw that evidence away.
CASE_SENSITIVE = re.DOTALL | re.MULTILINE


def digit_count(text: str) -> int:
    """At least the number of characters the patterns' `\\d` could match.

    `str.isdigit` also counts "²", but knows this Python's Unicode version only; the `regex`
    module Presidio compiles with knows a newer one, whose extra digits are all outside the
    BMP: those characters are counted too.
    """
    digits = sum(map(str.isdigit, text))
    return digits if text.isascii() else digits + len(_ASTRAL.findall(text))


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class PrecheckedRecognizer(PatternRecognizer):
    """A pattern recognizer that skips its regex passes when the text cannot hold a match.

    Most patterns need digits (phones, cards, ids, house numbers), an "@" or a ":", and
    titles, sites and scrubbed prompts rarely have any: counting is far cheaper than running
    a dozen patterns to find nothing. `may_match` must be true of every text in which some
    pattern of the recognizer matches, and `pattern_may_match` of every text in which that
    pattern matches; both may be true of others.

    Once Presidio has compiled the patterns (on the first call), they are run here with
    Presidio's own logic minus its per-pattern clock reads and debug logging, which cost
    about as much as the regexes on a short text.
    """

    lean_loop = True
    """False for a recognizer with its own `analyze` (IBAN), which Presidio must run."""

    patterns: list[Pattern]  # set by Presidio; declared for the type checker
    name: str

    def may_match(self, text: str) -> bool:
        return True

    def pattern_may_match(self, pattern: Pattern, text: str) -> bool:
        return True

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        if not self.may_match(text):
            return []
        flags = cast(int, regex_flags or self.global_regex_flags)
        if self.lean_loop and all(
            pattern.compiled_regex is not None and pattern.compiled_with_flags == flags
            for pattern in self.patterns
        ):
            return self._match_patterns(
                text, [p for p in self.patterns if self.pattern_may_match(p, text)], flags
            )
        results: list[RecognizerResult] = super().analyze(
            text, entities, nlp_artifacts, regex_flags
        )
        return results

    def _match_patterns(
        self, text: str, patterns: Sequence[Pattern], flags: int
    ) -> list[RecognizerResult]:
        """Presidio's `PatternRecognizer.__analyze_patterns`, step for step."""
        results: list[RecognizerResult] = []
        for pattern in patterns:
            try:
                compiled: Any = pattern.compiled_regex
                for match in compiled.finditer(text, timeout=REGEX_TIMEOUT_SECONDS):
                    start, end = match.span()
                    current = text[start:end]
                    if current == "":
                        continue
                    validation = self.validate_result(current)
                    explanation = self.build_regex_explanation(
                        self.name,
                        pattern.name,
                        pattern.regex,
                        pattern.score,
                        validation,  # type: ignore[arg-type]  # Presidio passes None too
                        flags,
                    )
                    result = RecognizerResult(
                        entity_type=self.supported_entities[0],
                        start=start,
                        end=end,
                        score=pattern.score,
                        analysis_explanation=explanation,
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                        },
                    )
                    if validation is not None:
                        result.score = (
                            EntityRecognizer.MAX_SCORE if validation else EntityRecognizer.MIN_SCORE
                        )
                    if self.invalidate_result(current):
                        result.score = EntityRecognizer.MIN_SCORE
                    if result.score > EntityRecognizer.MIN_SCORE:
                        results.append(result)
                    explanation.score = result.score
            except TimeoutError:
                logger.warning(
                    "Regex pattern '%s' timed out after %s seconds, skipping.",
                    pattern.name,
                    REGEX_TIMEOUT_SECONDS,
                    exc_info=True,
                )
        deduplicated: list[RecognizerResult] = EntityRecognizer.remove_duplicates(results)
        return deduplicated


class GatedPatternRecognizer(PrecheckedRecognizer):
    """A `PatternRecognizer` with pre-checks (`None`: always run, for custom patterns).

    TalentSync's own pattern recognizers, case-sensitive by default (`CASE_SENSITIVE`).
    """

    def __init__(
        self,
        *,
        gate: Callable[[str], bool] | None = None,
        pattern_gates: dict[str, Callable[[str], bool]] | None = None,
        global_regex_flags: int = CASE_SENSITIVE,
        **kwargs: Any,
    ) -> None:
        self._gate = gate
        self._pattern_gates = pattern_gates or {}
        super().__init__(global_regex_flags=global_regex_flags, **kwargs)

    def may_match(self, text: str) -> bool:
        return self._gate is None or self._gate(text)

    def pattern_may_match(self, pattern: Pattern, text: str) -> bool:
        gate = self._pattern_gates.get(pattern.name)
        return gate is None or gate(text)


def min_digits(count: int) -> Callable[[str], bool]:
    def gate(text: str) -> bool:
        return digit_count(text) >= count

    return gate


class HREmailRecognizer(PrecheckedRecognizer, EmailRecognizer):
    def may_match(self, text: str) -> bool:
        return "@" in text  # the pattern has a literal "[@]"


class HRUsSsnRecognizer(PrecheckedRecognizer, UsSsnRecognizer):
    def may_match(self, text: str) -> bool:
        return digit_count(text) >= 9  # every SSN pattern has nine digits


class HRCreditCardRecognizer(PrecheckedRecognizer, CreditCardRecognizer):
    def may_match(self, text: str) -> bool:
        return digit_count(text) >= 12  # its shortest pattern has 4+3+3+3 digits


class HRIbanRecognizer(PrecheckedRecognizer, IbanRecognizer):
    lean_loop = False

    def may_match(self, text: str) -> bool:
        return digit_count(text) >= 2  # two check digits after the country code


_DIGIT_DOT_DIGIT = re.compile(r"\d\.\d")


class HRIpRecognizer(PrecheckedRecognizer, IpRecognizer):
    def may_match(self, text: str) -> bool:
        # every IPv6 form has a ":", every IPv4 form a digit, a dot and a digit
        return ":" in text or _DIGIT_DOT_DIGIT.search(text) is not None
