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

from tools.pii.identity import normalise

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
