"""Payment cards Presidio's issuer list leaves out (Luhn-valid numbers near a card word)."""

from __future__ import annotations

from collections.abc import Sequence

from presidio_analyzer import Pattern

from pii.recognizers.prechecked import GatedPatternRecognizer, digit_count

CARD_CONTEXT: tuple[str, ...] = (
    "card", "credit", "debit", "visa", "mastercard", "amex", "maestro", "jcb", "discover",
    "diners", "payment", "billing",
)  # fmt: skip


class LuhnCardRecognizer(GatedPatternRecognizer):
    """Any 12-19 digit Luhn-valid number, for issuers Presidio's prefix list leaves out.

    Presidio's credit-card recognizer only knows some issuer prefixes (no Maestro, no
    2-series Mastercard, no 19-digit Visa). Luhn alone passes one random number in ten,
    so a bare match stays weak until a card word is near.
    """

    def __init__(self) -> None:
        super().__init__(
            supported_entity="CREDIT_CARD",
            name="LuhnCardRecognizer",
            patterns=[Pattern("card_digits", r"(?<![\w-])\d(?:[ -]?\d){11,18}(?![\w-])", 0.3)],
            context=list(CARD_CONTEXT),
        )

    def may_match(self, text: str) -> bool:
        return digit_count(text) >= 12

    def invalidate_result(self, pattern_text: str) -> bool | None:
        digits = [int(char) for char in pattern_text if char.isdigit()]
        return not _luhn_valid(digits)


def _luhn_valid(digits: Sequence[int]) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0
