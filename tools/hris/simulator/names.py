"""Realistic names for the simulated workforce: locales by site country, and the unique
firstname.lastname addresses mail systems accept."""

from __future__ import annotations

import itertools
import random
import re
import unicodedata

from faker import Faker

# Name locales by site country: mostly local names, plus the mix a real workforce has.
_LOCALES_BY_COUNTRY: dict[str, list[tuple[str, float]]] = {
    "DE": [("de_DE", 0.6), ("pl_PL", 0.1), ("fr_FR", 0.05), ("es_ES", 0.1), ("en_IN", 0.15)],
    "GB": [("en_GB", 0.55), ("en_IN", 0.15), ("pl_PL", 0.1), ("fr_FR", 0.1), ("es_ES", 0.1)],
    "US": [("en_US", 0.6), ("es_MX", 0.15), ("en_IN", 0.15), ("pl_PL", 0.05), ("de_DE", 0.05)],
    "CA": [("en_CA", 0.5), ("fr_CA", 0.25), ("en_IN", 0.15), ("pl_PL", 0.1)],
    "IN": [("en_IN", 0.9), ("en_GB", 0.05), ("en_US", 0.05)],
}
_DEFAULT_LOCALES = [(loc, 1.0) for loc in ("de_DE", "fr_FR", "es_ES", "en_US", "en_IN", "pl_PL")]
# Letters NFKD does not decompose into ASCII.
_ASCII_FOLD = str.maketrans(
    {"ł": "l", "Ł": "L", "ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe",
     "Œ": "OE", "đ": "d", "Đ": "D", "\u0131": "i", "þ": "th", "Þ": "Th", "'": "", "\u2019": ""}
)  # fmt: skip


def ascii_fold(text: str) -> str:
    """'Łukasz Zięcik-Müller' -> 'lukasz-ziecik-muller': what mail systems accept."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_FOLD))
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


class NameSource:
    """Realistic names per locale and unique firstname.lastname addresses."""

    def __init__(self, seed: int, domain: str) -> None:
        self._seed = seed
        self._domain = domain
        self._fakers: dict[str, Faker] = {}
        self._used: set[str] = set()

    def person(self, rng: random.Random, country: str | None) -> tuple[str, str, str]:
        choices = _LOCALES_BY_COUNTRY.get(country or "", _DEFAULT_LOCALES)
        locale = rng.choices([c[0] for c in choices], weights=[c[1] for c in choices])[0]
        fake = self._faker(locale)
        given, family = fake.first_name(), fake.last_name()
        return given, family, self._email(given, family)

    def _faker(self, locale: str) -> Faker:
        if locale not in self._fakers:
            fake = Faker(locale)
            fake.seed_instance(f"{self._seed}:{locale}")
            self._fakers[locale] = fake
        return self._fakers[locale]

    def _email(self, given: str, family: str) -> str:
        base = f"{ascii_fold(given) or 'x'}.{ascii_fold(family) or 'x'}"
        local = base
        for n in itertools.count(2):
            if local not in self._used:
                break
            local = f"{base}{n}"
        self._used.add(local)
        return f"{local}@{self._domain}"
