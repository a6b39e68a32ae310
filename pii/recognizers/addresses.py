"""Street addresses and postcodes: Presidio has no street-address recognizer, and home
addresses are common in HR notes."""

from __future__ import annotations

import re
from collections.abc import Sequence

from presidio_analyzer import Pattern, PatternRecognizer

from pii.names import is_english_word
from pii.recognizers.entities import STREET_ADDRESS
from pii.recognizers.prechecked import GatedPatternRecognizer, digit_count, min_digits

_CAP = r"\p{Lu}[\p{L}'\u2019\-]*\.?"  # a capitalised word, any script with case
_WORD = r"\p{L}[\p{L}'\u2019\-]*\.?"  # any word
_NUM = r"\d{1,6}[A-Za-z]?"  # house number, "221B"
_STREET_TYPES = (
    "street|st|road|rd|avenue|ave|av|drive|dr|lane|ln|close|crescent|cres|place|pl|court|ct|"
    "way|boulevard|blvd|terrace|ter|square|sq|highway|hwy|parkway|pkwy|row|walk|mews|"
    "gardens|grove|hill|park|circle|cir|trail|trl|point|pt|flat|flats|lodge|union|route|"
    "alley|pike|plaza|ridge|loop|green|rise|wharf|quay|gate|estate|junction|heights|"
    "crossing|causeway|expressway|freeway|turnpike|manor|mall|meadows?|fields?|creek|cove|"
    "harbou?r|landing|lakes?|mount|orchard|shore|springs?|summit|valley|views?|villas?|"
    "wells?|woods?|gardens?|ports?|burg|bypass|spur|stravenue|trace|track|vista|club|"
    "common|corners?|crest|dale|divide|extension|forge|fork|haven|hollow|inlet|island|isle|"
    "knolls?|mission|motorway|neck|pass|path|pines?|plains?|radial|ramp|ranch|rapids?|rest|"
    "run|shoals?|skyway|squares?|station|stream|throughway|tunnel|underpass|ville|way"
)
_STREET_PREFIXES = (
    "rue|avenue|av\\.|boulevard|bd\\.?|chemin|allée|impasse|quai|place|via|viale|piazza|"
    "piazzale|corso|largo|vicolo|calle|avenida|avda\\.?|paseo|camino|carrer|plaza|rua|"
    "travessa|praça|largo|estrada|strada|ul\\.|ulica|aleja|al\\.|plac|ulitsa|prospekt|"
    "λεωφόρος|οδός"
)
# words that end in a street type in languages that write it as a suffix
_STREET_SUFFIXES = (
    "straße|strasse|str\\.|gasse|weg|platz|allee|ring|damm|ufer|gatan|gata|vägen|väg|"
    "vegen|veien|vei|gade|vej|stræde|katu|tie|polku|kuja|tori|utca|út|útja|tér|sor|straat|"
    "laan|gracht|plein|dijk|kade|ulica|ská|ova|ová|ovo|ského|nám\\."
)
_PARTICLES = r"(?:de|du|des|la|le|les|di|del|della|da|do|dos|das|von|van|der|den|el|of)"

DEFAULT_ADDRESS_PATTERNS: tuple[Pattern, ...] = (
    # "2450 Crown St", "221B Baker Street", "22 Pollen Crescent" (optional leading postcode)
    Pattern(
        "number_name_type",
        rf"(?<!\w)(?:\d{{3,6}}\s+)?{_NUM}\s+(?:{_CAP}\s+){{1,4}}(?i:{_STREET_TYPES})\b\.?",
        0.6,
    ),
    # "33 avenue de Provence", "56 rue La Boétie", "Piazza Rezzonico 35", "Rua Diadema 1903"
    Pattern(
        "number_prefix_name",
        rf"(?<!\w)(?:{_NUM},?\s+(?i:{_STREET_PREFIXES})\s+(?:{_PARTICLES}\s+)*"
        rf"{_CAP}(?:\s+(?:{_PARTICLES}\s+)*{_CAP}){{0,3}}(?:,?\s+{_NUM}(?!\w))?"
        rf"|(?i:{_STREET_PREFIXES})\s+(?:{_PARTICLES}\s+)*"
        rf"{_CAP}(?:\s+(?:{_PARTICLES}\s+)*{_CAP}){{0,3}},?\s+{_NUM}(?!\w))",
        0.45,
    ),
    # "rue de Rivoli", "Plaza Outlet": a street word and a name but no house number names
    # a street, not where someone lives ("Sales Assistant - Wawasan Plaza Outlet"); only
    # address context ("lives on", "address:") lifts it over the threshold
    Pattern(
        "prefix_name",
        rf"(?<!\w)(?i:{_STREET_PREFIXES})\s+(?:{_PARTICLES}\s+)*"
        rf"{_CAP}(?:\s+(?:{_PARTICLES}\s+)*{_CAP}){{0,3}}",
        0.3,
    ),
    # "Ziegelgasse 19", "Magasinsgatan 7", "hegyalja út 98", "Dašická 688". The street word
    # is taken whole (possessive) and its ending checked by a lookbehind: the same matches as
    # letters-then-suffix, without retrying sixty suffixes at every letter (10x faster).
    Pattern(
        "suffix_name_number",
        rf"(?<!\w)(?:\d{{3,6}}\s+)?(?:{_WORD}\s+){{0,2}}(?=\p{{L}})\p{{L}}*+\.?"
        rf"(?<=(?i:{_STREET_SUFFIXES}))\s+{_NUM}(?!\w)",
        0.5,
    ),
    # "Kuusiku 7", "Joaquin Suarez 2906": a capitalised name then a house number; weak alone
    # ("Windows 10"), so it needs address context to pass the threshold
    Pattern(
        "name_number",
        rf"(?<!\w)(?:\d{{3,6}}\s+)?{_CAP}(?:\s+{_CAP}){{0,2}}\s+{_NUM}(?![\w.,]\d)(?!\w)",
        0.3,
    ),
    # "Apt 4B", "Suite 578", "Unit 12", "P.O. Box 149"
    Pattern(
        "unit",
        r"(?<!\w)(?i:apt\.?|apartment|suite|ste\.?|unit|flat|p\.?\s?o\.?\s?box|box)"
        r"\s*#?\s*\d{1,6}[A-Za-z]?(?!\w)",
        0.5,
    ),
    # "Unit 5146 Box 1772\nDPO AE 91410": US military mail
    Pattern(
        "military",
        r"(?<!\w)(?:Unit|PSC|USNS|USS|USCGC)\s+\d+(?:,?\s+Box\s+\d+)?\s*\n?\s*"
        r"(?:DPO|APO|FPO)\s+A[AEP]\s+\d{5}",
        0.85,
    ),
    # a multi-line block starting with a number and ending with a postcode line
    Pattern(
        "address_block",
        r"(?<!\w)\d{1,6}[ \t]+\p{L}[^\n]{1,60}(?:\n[^\n]{0,60}){1,5}?[ \t,]\d{4,6}(?:-\d{3,4})?$",
        0.5,
    ),
    # "the corner of X and Y"
    Pattern(
        "corner",
        rf"(?i:corner\s+of)\s+(?:{_WORD}\s+){{0,4}}?(?:{_NUM}\s+)?(?:{_WORD}\s*){{1,4}}"
        rf"\s+(?i:and|&)\s+(?:{_CAP}\s*){{1,4}}",
        0.6,
    ),
)
ADDRESS_CONTEXT: tuple[str, ...] = (
    "address",
    "addresses",
    "street",
    "live",
    "lives",
    "living",
    "located",
    "location",
    "ship",
    "deliver",
    "send",
    "mail",
    "return",
    "office",
    "home",
    "residence",
    "moved",
    "relocated",
    "drive",
    "billing",
    "postal",
    "at",
    "on",
    "corner",
    "apartment",
)


_ADDRESS_WITHOUT_DIGITS = re.compile(rf"{_STREET_PREFIXES}|corner".casefold())
"""What the default address patterns that need no digit start from: a street prefix ("rue
de Rivoli") or "corner of". Searched in the case-folded text, so it finds everything the
patterns' case-insensitive groups do (and a little more)."""


def _may_be_address(text: str) -> bool:
    return digit_count(text) > 0 or (_ADDRESS_WITHOUT_DIGITS.search(text.casefold()) is not None)


_SUFFIX_ENDINGS = tuple(_STREET_SUFFIXES.replace("\\", "").casefold().split("|"))
_SPACE_THEN_DIGIT = re.compile("\\s+[\\d\U00010000-\U0010ffff]")  # see `digit_count`


def _suffix_before_number(text: str) -> bool:
    """Whether some word ending in a street suffix is followed by spaces and a digit: what
    every "Ziegelgasse 19" match has (case-folded, so at least what the pattern's
    case-insensitive suffixes find). Most notes have a few spaces-then-digit at most."""
    for match in _SPACE_THEN_DIGIT.finditer(text):
        before = text[max(0, match.start() - 16) : match.start()]
        if before.casefold().endswith(_SUFFIX_ENDINGS):
            return True
    return False


_WORD_BEFORE_NUMBER = re.compile(r"([^\W\d_]+)\.?\s+\d{1,6}[A-Za-z]?$")


class StreetAddressRecognizer(GatedPatternRecognizer):
    """Street patterns, less an English word that merely ends like a street ("Supervisor 2"
    ends in the Hungarian "sor", "Engineering 2" in the German "ring"): as a title grade
    these were addresses at 0.5, and the firewall refused the whole record."""

    def invalidate_result(self, pattern_text: str) -> bool | None:
        before = _WORD_BEFORE_NUMBER.search(pattern_text)
        if before is None:
            return False
        word = before.group(1)
        folded = word.casefold()
        # a stem before the ending: "út 98" and "Ring 5" are the street word itself
        stemmed = any(folded.endswith(e) and len(folded) - len(e) >= 3 for e in _SUFFIX_ENDINGS)
        return stemmed and is_english_word(word)


def street_address_recognizer(patterns: Sequence[Pattern] | None = None) -> PatternRecognizer:
    """Presidio has no street-address recognizer; home addresses are common in HR notes."""
    return StreetAddressRecognizer(
        gate=_may_be_address if patterns is None else None,
        pattern_gates={"suffix_name_number": _suffix_before_number} if patterns is None else None,
        supported_entity=STREET_ADDRESS,
        name="StreetAddressRecognizer",
        patterns=list(patterns or DEFAULT_ADDRESS_PATTERNS),
        context=list(ADDRESS_CONTEXT),
    )


POSTCODE_CONTEXT: tuple[str, ...] = ("zip", "zipcode", "postcode", "postal", "plz", "post")


def postcode_recognizer() -> PatternRecognizer:
    """A postcode narrows a home address to a street; only worth flagging when labelled."""
    return GatedPatternRecognizer(
        gate=min_digits(2),  # a UK postcode has two, the others three or more
        supported_entity=STREET_ADDRESS,
        name="PostcodeRecognizer",
        patterns=[
            Pattern(
                "postcode",
                r"(?<![\w-])\d{3,5}(?:[ -]\d{2,4}|\s[A-Z]{2})?(?![\w-])",
                0.1,
            ),
            # UK and Canadian postcodes are distinctive enough without a label
            Pattern(
                "uk_postcode",
                r"(?<!\w)[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}(?!\w)",
                0.45,
            ),
        ],
        context=list(POSTCODE_CONTEXT),
    )
