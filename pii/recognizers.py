"""The recognizers TalentSync adds to (or tunes in) Presidio for HR text.

Presidio's defaults were measured on HR sentences (see NOTES.md): no employee ids, no street
addresses, job titles read as people or organisations, bare first names missed. Each
recognizer here closes one of those gaps with general patterns plus context words, never with
values copied from an evaluation set.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import phonenumbers
from presidio_analyzer import (
    AnalysisExplanation,
    EntityRecognizer,
    LocalRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.pattern_recognizer import REGEX_TIMEOUT_SECONDS
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
    UsSsnRecognizer,
)
from spacy.tokens import Doc

from pii.contact_recognizers import contact_and_id_recognizers
from pii.identity import RecordIdentity, normalise, normalise_with_offsets
from pii.names import (
    english_words,
    is_english_word,
    is_inflected_english_word,
    load_gazetteer,
    looks_like_surname,
)

logger = logging.getLogger(__name__)

EMPLOYEE_ID = "EMPLOYEE_ID"
STREET_ADDRESS = "STREET_ADDRESS"
DATE_OF_BIRTH = "DATE_OF_BIRTH"
PERSON = "PERSON"
EMAIL_ADDRESS = "EMAIL_ADDRESS"

DENY_LIST_RECOGNIZER = "RecordDenyListRecognizer"
"""Name the scrubber looks for: deny-list findings beat every other overlapping finding."""

# Case-sensitive, multi-line: capitalisation is evidence for names of streets, so the
# IGNORECASE Presidio applies by default would throw that evidence away.
_CASE_SENSITIVE = re.DOTALL | re.MULTILINE


# --- cheap pre-checks ------------------------------------------------------------------------


def digit_count(text: str) -> int:
    """At least the number of characters the patterns' `\\d` could match.

    `str.isdigit` also counts "²", but knows this Python's Unicode version only; the `regex`
    module Presidio compiles with knows a newer one, whose extra digits are all outside the
    BMP: those characters are counted too.
    """
    digits = sum(map(str.isdigit, text))
    return digits if text.isascii() else digits + len(_ASTRAL.findall(text))


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class _Prechecked(PatternRecognizer):
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


class GatedPatternRecognizer(_Prechecked):
    """A `PatternRecognizer` with pre-checks (`None`: always run, for custom patterns)."""

    def __init__(
        self,
        *,
        gate: Callable[[str], bool] | None = None,
        pattern_gates: dict[str, Callable[[str], bool]] | None = None,
        **kwargs: Any,
    ) -> None:
        self._gate = gate
        self._pattern_gates = pattern_gates or {}
        super().__init__(**kwargs)

    def may_match(self, text: str) -> bool:
        return self._gate is None or self._gate(text)

    def pattern_may_match(self, pattern: Pattern, text: str) -> bool:
        gate = self._pattern_gates.get(pattern.name)
        return gate is None or gate(text)


def _min_digits(count: int) -> Callable[[str], bool]:
    def gate(text: str) -> bool:
        return digit_count(text) >= count

    return gate


class HREmailRecognizer(_Prechecked, EmailRecognizer):
    def may_match(self, text: str) -> bool:
        return "@" in text  # the pattern has a literal "[@]"


class HRUsSsnRecognizer(_Prechecked, UsSsnRecognizer):
    def may_match(self, text: str) -> bool:
        return digit_count(text) >= 9  # every SSN pattern has nine digits


class HRCreditCardRecognizer(_Prechecked, CreditCardRecognizer):
    def may_match(self, text: str) -> bool:
        return digit_count(text) >= 12  # its shortest pattern has 4+3+3+3 digits


class HRIbanRecognizer(_Prechecked, IbanRecognizer):
    lean_loop = False

    def may_match(self, text: str) -> bool:
        return digit_count(text) >= 2  # two check digits after the country code


_DIGIT_DOT_DIGIT = re.compile(r"\d\.\d")


class HRIpRecognizer(_Prechecked, IpRecognizer):
    def may_match(self, text: str) -> bool:
        # every IPv6 form has a ":", every IPv4 form a digit, a dot and a digit
        return ":" in text or _DIGIT_DOT_DIGIT.search(text) is not None


# --- employee ids ----------------------------------------------------------------------------

DEFAULT_EMPLOYEE_ID_PATTERNS: tuple[Pattern, ...] = (
    # "E12345": the shape most HRIS use; spaCy otherwise tags it PERSON
    Pattern("employee_id_e_prefix", r"(?<![\w.-])E\d{4,7}(?![\w.-])", 0.5),
    # "EMP-004211", "AB123456": a short letter prefix, optional dash, digits; weak on its
    # own (could be a ticket or a product code), context makes it an id. O*NET-SOC job
    # codes ("15-1252.00") have no letter prefix, so they never match.
    Pattern("employee_id_prefixed", r"(?<![\w.-])[A-Z]{1,3}-?\d{4,8}(?![\w.-])", 0.3),
    # bare digits only count next to a strong word ("badge 0042817")
    Pattern("employee_id_digits", r"(?<![\w.-])#?\d{5,8}(?![\w.-])", 0.1),
)
EMPLOYEE_ID_CONTEXT: tuple[str, ...] = (
    "employee",
    "id",
    "badge",
    "staff",
    "worker",
    "emp",
    "personnel",
    "payroll",
    "#",
)


def employee_id_recognizer(patterns: Sequence[Pattern] | None = None) -> PatternRecognizer:
    """Patterns are configurable because every HRIS numbers its workers differently."""
    return GatedPatternRecognizer(
        # every default pattern has at least four digits; custom ones are always run
        gate=_min_digits(4) if patterns is None else None,
        supported_entity=EMPLOYEE_ID,
        name="EmployeeIdRecognizer",
        patterns=list(patterns or DEFAULT_EMPLOYEE_ID_PATTERNS),
        context=list(EMPLOYEE_ID_CONTEXT),
        global_regex_flags=_CASE_SENSITIVE,
    )


# --- street addresses ------------------------------------------------------------------------

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
        global_regex_flags=_CASE_SENSITIVE,
    )


# --- dates of birth --------------------------------------------------------------------------

_MONTH = (
    r"(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
DEFAULT_DOB_PATTERNS: tuple[Pattern, ...] = (
    # dates are everywhere in HR text (start dates, deadlines); only birth context makes one
    # personal, so every pattern stays under the threshold until context lifts it
    Pattern("numeric", r"(?<![\w/.-])\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}(?![\w/-])", 0.1),
    Pattern("day_month_year", rf"(?<!\w)\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}\b", 0.1),
    Pattern("month_day_year", rf"(?<!\w){_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b", 0.1),
)
# context is compared with lemmas: "born" arrives as "bear"
DOB_CONTEXT: tuple[str, ...] = (
    "born",
    "bear",
    "birth",
    "birthday",
    "dob",
    "d.o.b",
    "birthdate",
    "bday",
)


def date_of_birth_recognizer() -> PatternRecognizer:
    return GatedPatternRecognizer(
        gate=_min_digits(3),  # "1/2/85" at the least
        supported_entity=DATE_OF_BIRTH,
        name="DateOfBirthRecognizer",
        patterns=list(DEFAULT_DOB_PATTERNS),
        context=list(DOB_CONTEXT),
        global_regex_flags=_CASE_SENSITIVE,
    )


# --- postcodes and payment cards ------------------------------------------------------------

POSTCODE_CONTEXT: tuple[str, ...] = ("zip", "zipcode", "postcode", "postal", "plz", "post")


def postcode_recognizer() -> PatternRecognizer:
    """A postcode narrows a home address to a street; only worth flagging when labelled."""
    return GatedPatternRecognizer(
        gate=_min_digits(2),  # a UK postcode has two, the others three or more
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
        global_regex_flags=_CASE_SENSITIVE,
    )


CARD_CONTEXT: tuple[str, ...] = (
    "card", "credit", "debit", "visa", "mastercard", "amex", "maestro", "jcb", "discover",
    "diners", "payment", "billing",
)  # fmt: skip


class LuhnCardRecognizer(_Prechecked):
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
            global_regex_flags=_CASE_SENSITIVE,
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


# --- phone numbers ---------------------------------------------------------------------------

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


class PhoneGroupsRecognizer(_Prechecked):
    """Catches national formats phonenumbers rejects for the regions configured."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="PHONE_NUMBER",
            name="PhoneGroupsRecognizer",
            patterns=[_PHONE_FALLBACK],
            context=list(PHONE_CONTEXT),
            global_regex_flags=_CASE_SENSITIVE,
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


# --- NER (spaCy) with job titles filtered out ------------------------------------------------

JOB_TITLE_WORDS: frozenset[str] = frozenset(
    """
    senior junior lead principal chief head staff associate assistant deputy vice executive
    manager director officer controller recruiter engineer developer analyst consultant
    specialist coordinator administrator admin supervisor representative rep account sales
    marketing finance financial accountant auditor clerk nurse rn lpn cna night day shift
    float charge technician tech architect designer scientist researcher intern trainee
    apprentice operator driver agent advisor adviser partner president ceo cfo cto coo cio vp
    svp evp hr people talent payroll benefits generalist business owner product project
    program programme software data support customer service success operations ops warehouse
    logistics teacher instructor trainer therapist physician surgeon pharmacist receptionist
    secretary paralegal counsel attorney lawyer editor writer producer buyer planner scheduler
    dispatcher mechanic electrician welder carpenter cashier barista cook chef host server
    bartender housekeeper janitor custodian guard security i ii iii iv
    """.split()  # noqa: SIM905
)
"""Words of job titles spaCy's small model tags as people ("Recruiter", "Controller")."""


class HRSpacyRecognizer(SpacyRecognizer):
    """spaCy NER minus PERSON spans made only of job-title words.

    A title is business data the mapping agent needs; scrubbing "Recruiter" as a person
    would blind it without protecting anyone.
    """

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = super().analyze(text, entities, nlp_artifacts)
        kept: list[RecognizerResult] = []
        for result in results:
            if result.entity_type == PERSON and (
                _is_job_title(result, text)
                or not _trim_digits(result, text)
                or _is_phrase(result, text)
            ):
                continue
            kept.append(result)
        return kept


_LETTER_RUN = re.compile(r"[^\W\d_]+")  # the words `_is_phrase` and `_is_job_title` look at
_LETTER = re.compile(r"[^\W\d_]")


def spacy_people_all_dropped(text: str, covered: Sequence[tuple[int, int]] = ()) -> bool:
    """True when every PERSON span NER could find in text would be dropped by
    `HRSpacyRecognizer`, or could only reach past `covered` spans onto words it would drop:
    all its words are job-title words, or all are ordinary English words and none a known
    name. "Senior Account Executive", "Sales", "Operations".

    `covered` are spans the caller replaces whatever NER says (the record's own names,
    emails and ids): words inside them need no NER. Words of an email address are left out
    too: the email recognizer replaces the whole address, and NER tags no person there
    that would survive it.

    Call `tokens_glued` as well: this reasons about the text's words, and a span edge
    inside a word (a tokenizer split such as "ca|n't") would cut a different one.
    """
    skipped = [*covered, *((m.start(), m.end()) for m in _EMAIL_LIKE.finditer(text))]
    words = [
        match
        for match in _LETTER_RUN.finditer(text)
        if not any(start <= match.start() and match.end() <= end for start, end in skipped)
    ]
    if all(match.group().casefold() in JOB_TITLE_WORDS for match in words):
        return True
    names = load_gazetteer()
    for match in words:
        word = match.group()
        if word.islower() and is_inflected_english_word(word):
            # "will", "mentor", "asked": the small model does not read lower-case ordinary
            # words as a person, even where a name is spelt the same
            continue
        folded = normalise(word)
        if folded in names.given or folded in names.family:
            return False
        if is_english_word(word):
            continue
        # a verb form opening a sentence ("Promoted to ..."); mid-sentence, a capitalised
        # form may be a family name (Harding, Manning)
        if not _opens_sentence(text, match.start()) or not is_inflected_english_word(word):
            return False
    return True


def _opens_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'(")
    return not before or before[-1] in ".!?:;\n"


_EMAIL_LIKE = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[^\W\d_]{2,}")


def tokens_glued(doc: Doc) -> bool:
    """Whether some token boundary falls inside a run of letters (no space between)."""
    for token in doc[:-1]:
        if token.whitespace_:
            continue
        following = doc[token.i + 1]
        if _LETTER.fullmatch(token.text[-1]) and _LETTER.fullmatch(following.text[0]):
            return True
    return False


_LEADING_DETERMINERS = frozenset({"my", "our", "your", "his", "her", "their", "the", "a", "an"})


def _is_phrase(result: RecognizerResult, text: str) -> bool:
    """A NER "person" with no known name in it, made of ordinary words or an acronym.

    The small model reads "Guilty Pleasures", "Discipline", "My IBAN" and "Can" as people.
    A real name has at least one word that is not an ordinary English word, or is a known
    given or family name ("Baker", "Rebecca"). A leading determiner ("My") is dropped.
    """
    names = load_gazetteer()
    words = re.findall(r"[^\W\d_]+", text[result.start : result.end])
    while words and words[0].casefold() in _LEADING_DETERMINERS:
        words = words[1:]
    if not words:
        return True
    if any(normalise(word) in names.given or normalise(word) in names.family for word in words):
        return False
    if len(words) == 1 and words[0].isupper() and len(words[0]) > 1:
        return True  # "IBAN", "VIC": an acronym
    return all(is_english_word(word) for word in words)


def _is_job_title(result: RecognizerResult, text: str) -> bool:
    words = re.findall(r"[^\W\d_]+", text[result.start : result.end])
    return bool(words) and all(word.casefold() in JOB_TITLE_WORDS for word in words)


_EDGE_DIGITS = re.compile(r"^(?:\S*\d\S*\s+)+|(?:\s+\S*\d\S*)+$")


def _trim_digits(result: RecognizerResult, text: str) -> bool:
    """Cut words with digits off a PERSON span's edges; False if nothing is left.

    Names have no digits: spaCy's "Joaquin Suarez 2906" is a street, "E12345" an id. The
    name part stays a PERSON, and the longer address or id finding wins the overlap.
    """
    span = text[result.start : result.end]
    if not any(char.isdigit() for char in span):
        return True
    lead = _EDGE_DIGITS.match(span)
    start = result.start + (lead.end() if lead and lead.start() == 0 else 0)
    trail = re.search(r"(?:\s+\S*\d\S*)+$", span)
    end = result.start + trail.start() if trail else result.end
    if end <= start or any(char.isdigit() for char in text[start:end]):
        return False
    result.start, result.end = start, end
    return True


# --- names beyond what NER knows -------------------------------------------------------------

PERSON_CONTEXT: tuple[str, ...] = (
    "name", "named", "call", "called", "mr", "mrs", "ms", "dr", "said", "say", "speak",
    "meet", "manager", "colleague", "founder", "assistant", "employee", "contact", "reach",
    "ask", "tell", "email", "follow", "partner", "hire", "report", "mentor", "star", "direct",
)  # fmt: skip

_WORD_RE = re.compile(r"[^\W\d_]+(?:['\u2019\-][^\W\d_]+)*\.?")
_APOSTROPHES = "'\u2019"
_POSSESSIVE_S = "sS\u017f"  # what "s" matches case-insensitively, long s included
_PART_SEPARATORS = re.compile(r"['\u2019\-]")
_MAX_NAME_WORDS = 4

COMPANY_WORDS: frozenset[str] = frozenset(
    """
    inc llc ltd plc gmbh ag sa sas bv nv corp corporation company co group holdings
    partners associates agency orchestra foundation bank lines sons incorporated
    """.split()  # noqa: SIM905
)
"""Words that make the capitalised run before them an organisation ("Hall Orchestra")."""


@dataclass(slots=True)
class _Word:
    """One word of a run (a plain slotted class: made for every word of every text, and a
    frozen dataclass costs twice as much to build)."""

    start: int
    end: int
    text: str  # without a possessive "'s" or a trailing full stop
    folded: str  # `normalise(text)`
    given: bool
    family: bool
    initial: bool
    surname_like: bool
    capitalised: bool
    _ordinary: bool | None = None

    @property
    def known(self) -> bool:
        return self.given or self.family

    @property
    def ordinary(self) -> bool:
        """An ordinary English word; looked up on demand, since only capitalised words and
        known names are ever asked (most words of a note are neither)."""
        if self._ordinary is None:
            self._ordinary = not self.initial and is_english_word(self.text)
        return self._ordinary

    def name_like(self) -> bool:
        if self.initial or self.known or self.surname_like:
            return True
        # an unknown capitalised word that is no English word ("Gyarmathy", "Pyysalo"),
        # and no acronym ("IBAN", "VIC")
        return self.capitalised and not self.ordinary and not _is_acronym(self.text)


class GazetteerNameRecognizer(LocalRecognizer):
    """Runs of name-like words around known given or family names (see `pii.names`).

    A known given name followed by a known family name is a person with good confidence,
    and so is a known given name (or an initial-bearing run) followed by an unknown
    capitalised word that is no English word ("Layla Gairbekov", "Faina D. Yefremova"). A
    lone known given name that is no English word ("Sofie") passes; one that is ("Grace",
    "May") or a lone family name ("Hall") is only a hint and needs a context word.
    """

    FULL_NAME_SCORE = 0.7
    PARTIAL_NAME_SCORE = 0.6
    WEAK_PAIR_SCORE = 0.5
    RARE_GIVEN_NAME_SCORE = 0.45
    GIVEN_NAME_SCORE = 0.35
    FAMILY_NAME_SCORE = 0.25

    def __init__(self) -> None:
        self._names = load_gazetteer()
        english_words()  # load now, not on the first text
        self._name = "GazetteerNameRecognizer"
        super().__init__(
            supported_entities=[PERSON],
            name="GazetteerNameRecognizer",
            context=list(PERSON_CONTEXT),
        )

    def load(self) -> None:
        """The gazetteer is loaded (and cached) in `__init__`."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        for run in _word_runs(text):
            words = [self._word(text, start, end) for start, end in run]
            for segment in _name_segments(words):
                score = self._score(segment, text)
                if score <= 0:
                    continue
                results.append(
                    RecognizerResult(
                        PERSON,
                        segment[0].start,
                        segment[-1].end,
                        score,
                        analysis_explanation=AnalysisExplanation(
                            recognizer=self._name,
                            original_score=score,
                            textual_explanation="known given/family name",
                        ),
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: self._name,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                        },
                    )
                )
        return results

    def _word(self, text: str, start: int, end: int) -> _Word:
        raw = text[start:end]
        if len(raw) > 2 and raw[-2] in _APOSTROPHES and raw[-1] in _POSSESSIVE_S:
            end -= 2
            raw = raw[:-2]
        initial = len(raw.rstrip(".")) == 1
        if raw.endswith(".") and not initial:  # a sentence full stop, not an initial
            end -= 1
            raw = raw[:-1]
        bare = raw.rstrip(".")
        folded = normalise(bare)
        stop = folded in _stop_words()
        given = not stop and folded in self._names.given
        family = not stop and folded in self._names.family
        if not (given and family) and ("-" in bare or "'" in bare or "\u2019" in bare):
            # "Anne-Marie", "O'Neil": a name if every part is a given name, or any a family name
            parts = [normalise(part) for part in _PART_SEPARATORS.split(bare) if part]
            if len(parts) > 1:
                given = given or all(p in self._names.given for p in parts)
                family = family or any(p in self._names.family for p in parts)
        return _Word(
            start=start,
            end=end,
            text=bare,
            folded=folded,
            given=given,
            family=family,
            initial=initial,
            surname_like=not initial and looks_like_surname(bare),
            capitalised=text[start].isupper(),
        )

    def _score(self, words: Sequence[_Word], text: str) -> float:
        first, last = words[0], words[-1]
        if len(words) == 1:
            if not first.capitalised or first.initial:
                return 0.0
            if _is_acronym(first.text) and not text.isupper():
                return 0.0  # "IBAN", "VIC" in ordinary text
            if first.given:
                return self.GIVEN_NAME_SCORE if first.ordinary else self.RARE_GIVEN_NAME_SCORE
            return self.FAMILY_NAME_SCORE if first.known or first.surname_like else 0.0
        if all(word.initial for word in words):
            return 0.0
        inner_initial = any(word.initial for word in words[1:-1])
        last_is_surname = last.family or last.given or last.surname_like
        if first.given or first.initial:
            if first.given and last.family:
                return self.FULL_NAME_SCORE
            if last.initial:
                return 0.0
            if first.capitalised and (last_is_surname or (last.capitalised and not last.ordinary)):
                if first.given and last_is_surname:
                    return self.FULL_NAME_SCORE
                return self.PARTIAL_NAME_SCORE
            if not first.capitalised and first.given and (inner_initial or last.surname_like):
                return self.PARTIAL_NAME_SCORE  # "benjamin a seiler", "monika žilková"
            return 0.0
        if not first.capitalised or last.initial:
            return 0.0
        if inner_initial:
            return self.PARTIAL_NAME_SCORE  # "Szabina J Gelencsér"
        if last.surname_like or (first.known and last.known):
            return self.WEAK_PAIR_SCORE  # "Wisława Szczepańska"
        return 0.0


@functools.cache
def _stop_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def _is_acronym(word: str) -> bool:
    return word.isupper() and len(word) <= 4


def _name_segments(words: Sequence[_Word]) -> list[list[_Word]]:
    """Maximal stretches of name-like words (at most four); a stretch right before a
    company word ("Davis Orchestra", "Shepherd Ltd") names the company, not a person."""
    segments: list[list[_Word]] = []
    current: list[_Word] = []
    for word in words:
        usable = word.name_like() and word.folded not in JOB_TITLE_WORDS
        if usable and len(current) < _MAX_NAME_WORDS:
            current.append(word)
            continue
        if current and word.folded not in COMPANY_WORDS:
            segments.append(current)
        current = [word] if usable else []
    if current:
        segments.append(current)
    return segments


def _word_runs(text: str) -> list[list[tuple[int, int]]]:
    """Runs of words on one line, split where the case changes or a sentence ends.

    A run is either all capitalised ("Faina D. Yefremova") or all lower case ("naomi ryan"),
    so "Reach Priya" stays apart from "at priya.patel".
    """
    runs: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    for match in _WORD_RE.finditer(text):
        start, end = match.span()
        if _glued_to_digit(text, start, end):
            # part of a code or product name ("S/4HANA", "Win10"), not a person's name
            if current:
                runs.append(current)
            current = []
            continue
        upper = text[start].isupper()
        if current:
            prev_start, prev_end = current[-1]
            gap = text[prev_end:start]
            joined = gap != "" and gap.strip(" \t") == ""  # spaces or tabs only
            same_case = text[prev_start].isupper() == upper
            if joined and same_case and not _ends_sentence(text, prev_start, prev_end):
                current.append((start, end))
                continue
            runs.append(current)
        current = [(start, end)]
    if current:
        runs.append(current)
    return runs


def _glued_to_digit(text: str, start: int, end: int) -> bool:
    return (start > 0 and text[start - 1].isdigit()) or (end < len(text) and text[end].isdigit())


def _ends_sentence(text: str, start: int, end: int) -> bool:
    """A word ending in "." ends the run unless it is an initial ("D.")."""
    return text[end - 1] == "." and end - start > 2


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
        global_regex_flags=_CASE_SENSITIVE,
    )


# --- repeated mentions -----------------------------------------------------------------------

_CAPITALISED_WORD = re.compile(r"[^\W\d_][^\W\d_'\u2019\-]+")
_MIN_PROPAGATED_LENGTH = 3
PROPAGATED_NAME_SCORE = 0.6


_NAME_ITEM = r"[^\W\d_][^\W\d_'\u2019]*(?:-[^\W\d_]+)?"
_NAME_LIST = re.compile(
    rf"(?<![\w\-])({_NAME_ITEM})((?:,\s+{_NAME_ITEM})*),?\s+(?:and|&)\s+({_NAME_ITEM})(?!\w)"
)
_COMPANY_LEAD = re.compile(r"\b(?:at|from|for|with|of|joined|join|the|by)\s+$", re.IGNORECASE)
_COMPANY_TAIL = re.compile(
    r",?\s+(?:(?i:inc|llc|ltd|plc|gmbh|corp|corporation|company|co|group|holdings|partners|"
    r"associates|agency|orchestra|foundation|bank)\b|&\s+Sons|is\s+an?\s+\w+\s+"
    r"(?:agency|company|firm))"
)
LISTED_NAME_SCORE = 0.5


def _company_lists(text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Spans of "A, B and C" lists: (firm names, lists of people).

    Three family names are the classic firm name ("Jones, Mitchell and Williams"): a list
    is a firm when it follows "at/from/for/with/the", starts the text, or is followed by a
    company word ("Orchestra", "LLC", "& Sons", "is a design agency"), and holds no known
    given name. Otherwise, a list of known names ("our founders: Kónya, Becker and
    Vasquez") is a list of people.
    """
    names = load_gazetteer()
    firms: list[tuple[int, int]] = []
    people: list[tuple[int, int]] = []
    for match in _NAME_LIST.finditer(text):
        items = [match.group(1), *re.findall(_NAME_ITEM, match.group(2)), match.group(3)]
        if not all(item[0].isupper() for item in items):
            continue
        parts = [normalise(p) for item in items for p in item.split("-")]
        given = any(p in names.given and p not in names.family for p in parts)
        known = sum(p in names.given or p in names.family for p in parts)
        lead = text[max(0, match.start() - 12) : match.start()]
        firm_like = (
            match.start() == 0
            or _COMPANY_LEAD.search(lead) is not None
            or _COMPANY_TAIL.match(text[match.end() :]) is not None
        )
        if firm_like and not given:
            firms.append(match.span())
        elif known >= 2 and known >= len(parts) - 1:
            offset = match.start()
            for item in items:
                item_start = text.index(item, offset)
                people.append((item_start, item_start + len(item)))
                offset = item_start + len(item)
    return firms, people


def _after_the(text: str, start: int) -> bool:
    return text[max(0, start - 4) : start].casefold() == "the "


def refine_people(text: str, results: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """Document-level fixes to PERSON findings, once every recognizer has run.

    - names inside firm names ("at Jones, Mitchell and Williams", "Davis Orchestra") and
      right after "the" ("The Princess Royal") are dropped;
    - the items of a list of known names ("founders: Kónya, Becker and Vasquez") are added;
    - bare repeats of a word of a found multi-word name are added: a text that names
      "Maciej Borkowski" once often says "Borkowski" alone elsewhere, and a lone family
      name is too weak for any recognizer. Job-title words never spread.
    """
    firms, listed = _company_lists(text) if "," in text or " and " in text else ([], [])
    kept: list[RecognizerResult] = []
    for result in results:
        if result.entity_type == PERSON and (
            _after_the(text, result.start)
            or any(s < result.end and result.start < e for s, e in firms)
        ):
            continue
        kept.append(result)
    names = [r for r in kept if r.entity_type == PERSON]
    covered = [(r.start, r.end) for r in names]
    extra: list[RecognizerResult] = []

    def add(start: int, end: int, score: float, why: str) -> None:
        covered.append((start, end))
        extra.append(
            RecognizerResult(
                PERSON,
                start,
                end,
                score,
                analysis_explanation=AnalysisExplanation(
                    recognizer="refine_people", original_score=score, textual_explanation=why
                ),
            )
        )

    for start, end in listed:
        if not any(s < end and start < e for s, e in covered):
            add(start, end, LISTED_NAME_SCORE, "item of a list of known names")
    words: set[str] = set()
    for result in names:
        parts = _CAPITALISED_WORD.findall(text[result.start : result.end])
        if len(parts) < 2:
            continue
        words.update(
            part
            for part in parts
            if len(part) >= _MIN_PROPAGATED_LENGTH
            and part[0].isupper()
            and normalise(part) not in JOB_TITLE_WORDS
        )
    if words:
        for match in _CAPITALISED_WORD.finditer(text):
            start, end = match.span()
            if match.group() not in words or (start and text[start - 1] == "-"):
                continue
            if any(s < end and start < e for s, e in covered):
                continue
            add(start, end, PROPAGATED_NAME_SCORE, "word of a name found elsewhere in the text")
    return [*kept, *extra]


# --- the per-record deny-list ----------------------------------------------------------------


@dataclass(frozen=True)
class _DenyTerm:
    folded: str
    entity_type: str


class RecordDenyListRecognizer(LocalRecognizer):
    """Finds this record's own names, email and ids, whatever their case or accents.

    NER misses bare first names and all-caps names; the record tells us exactly which
    strings belong to this person, so matching them is certain (score 1.0). Matching runs
    on the normalised text (see `pii.identity.normalise`) and maps back to the
    original offsets, so "PRIYA", "priya" and "Zoe" for "Zoë" are all found.
    """

    def __init__(self, identity: RecordIdentity) -> None:
        terms = [
            *(_DenyTerm(normalise(value), EMAIL_ADDRESS) for value in identity.emails),
            *(_DenyTerm(normalise(value), EMPLOYEE_ID) for value in identity.ids),
            *(_DenyTerm(normalise(value), PERSON) for value in identity.names),
            *(_DenyTerm(normalise(value), EMAIL_ADDRESS) for value in identity.email_local_parts),
        ]
        # longest first so "priya patel" wins over "priya" at the same position
        self._terms = sorted({term.folded: term for term in terms}.values(), key=_longest_first)
        # a handful of terms per record: plain substring search beats compiling a regex
        # for every record
        self._name = DENY_LIST_RECOGNIZER
        super().__init__(
            supported_entities=[PERSON, EMAIL_ADDRESS, EMPLOYEE_ID],
            name=DENY_LIST_RECOGNIZER,
        )

    @property
    def fingerprint(self) -> str:
        """The record's terms as one string: what makes two deny-lists the same (for keyed
        digests only, never stored as it is)."""
        return "\x1f".join(term.folded for term in self._terms)

    def load(self) -> None:
        """Nothing to load: the terms come from the record."""

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
    ) -> list[RecognizerResult]:
        if not self._terms:
            return []
        folded, offsets = normalise_with_offsets(text)
        results: list[RecognizerResult] = []
        for match_start, match_end, term in _term_matches(folded, self._terms):
            entity_type = term.entity_type
            if entities and entity_type not in entities:
                continue
            results.append(
                RecognizerResult(
                    entity_type=entity_type,
                    start=offsets[match_start],
                    end=_original_end(offsets, match_end),
                    score=EntityRecognizer.MAX_SCORE,
                    analysis_explanation=AnalysisExplanation(
                        recognizer=self._name,
                        original_score=EntityRecognizer.MAX_SCORE,
                        textual_explanation="value of this record",
                    ),
                    recognition_metadata={
                        RecognizerResult.RECOGNIZER_NAME_KEY: self._name,
                        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                    },
                )
            )
        return results


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _term_matches(folded: str, terms: Sequence[_DenyTerm]) -> list[tuple[int, int, _DenyTerm]]:
    """Whole-word occurrences, scanning left to right, longest term first at a position,
    never overlapping: what one regex alternation of the terms would find."""
    found: dict[int, tuple[int, _DenyTerm]] = {}
    for term in terms:  # longest first, so the first hit at a start is the longest
        start = folded.find(term.folded)
        while start != -1:
            end = start + len(term.folded)
            if (
                start not in found
                and (start == 0 or not _is_word_char(folded[start - 1]))
                and (end == len(folded) or not _is_word_char(folded[end]))
            ):
                found[start] = (end, term)
            start = folded.find(term.folded, start + 1)
    matches: list[tuple[int, int, _DenyTerm]] = []
    cursor = 0
    for start in sorted(found):
        end, term = found[start]
        if start >= cursor:
            matches.append((start, end, term))
            cursor = end
    return matches


def _longest_first(term: _DenyTerm) -> tuple[int, str]:
    return (-len(term.folded), term.folded)


def _original_end(offsets: list[int], folded_end: int) -> int:
    """End offset in the original text: one past the source char of the last folded char."""
    return offsets[folded_end - 1] + 1 if folded_end > 0 else 0


# --- the standard set ------------------------------------------------------------------------


def default_recognizers(
    employee_id_patterns: Sequence[Pattern] | None = None,
    phone_regions: Sequence[str] = PHONE_REGIONS,
) -> list[EntityRecognizer]:
    """Everything the analyzer runs for every text (the deny-list is added per call)."""
    recognizers: list[EntityRecognizer] = [
        HRSpacyRecognizer(supported_entities=[PERSON, "LOCATION", "DATE_TIME"]),
        GazetteerNameRecognizer(),
        name_cue_recognizer(),
        HREmailRecognizer(name="EmailRecognizer"),
        *phone_recognizers(phone_regions),
        HRUsSsnRecognizer(name="UsSsnRecognizer"),
        HRCreditCardRecognizer(name="CreditCardRecognizer"),
        LuhnCardRecognizer(),
        postcode_recognizer(),
        HRIbanRecognizer(name="IbanRecognizer"),
        HRIpRecognizer(name="IpRecognizer"),
        employee_id_recognizer(employee_id_patterns),
        street_address_recognizer(),
        date_of_birth_recognizer(),
        *contact_and_id_recognizers(),
    ]
    return recognizers


def supported_entities(recognizers: Iterable[EntityRecognizer]) -> list[str]:
    return sorted({entity for r in recognizers for entity in r.supported_entities})
