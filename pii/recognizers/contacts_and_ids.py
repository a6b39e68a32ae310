"""Contact numbers, identity-document numbers and contact instructions typed into free text.

People type these into fields nobody expects them in: a profile skill "cell +44 7700 900123",
"passport 533380006", "whatsapp me on 0151 234 5678". Presidio's phone recognizer works at
python-phonenumbers' VALID leniency, which rejects numbers outside allocated ranges (the
whole Ofcom drama range 07700 900xxx, new ranges after the metadata was cut), and nothing
in the default set knows passports or most national ids. Each recognizer here needs strong
evidence, so real skills with digits ("Office 365", "ISO 27001", "S/4HANA", "Python 3",
"ITIL v4", "C++17", "AWS SAA-C03") are never touched:

- `DialablePhoneRecognizer`: a number written the way it is dialled, international ("+44",
  "0049") or national with its trunk zero ("07700 900123"), that python-phonenumbers finds
  *possible* (right length for its country), not necessarily allocated;
- `ContactCueRecognizer`: what follows "call me on", "whatsapp", "reach me at", "my mobile
  is" ...: digits, an @handle or a spelled-out email ("jo dot li at mail dot com");
- `IdentityDocumentRecognizer`: an id-shaped value after a document's name ("passport",
  "NI number", "SSN", "PESEL", "DNI", ...), and UK National Insurance numbers on their shape.

Kept apart from the other recognizers on purpose: their patterns are tuned for precision on
names and places; these only add entity findings, they never remove one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers
from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from pii.recognizers.results import explained_result

PHONE_NUMBER = "PHONE_NUMBER"
PASSPORT_NUMBER = "PASSPORT_NUMBER"
NATIONAL_ID = "NATIONAL_ID"
CONTACT_HANDLE = "CONTACT_HANDLE"

IDENTITY_AND_CONTACT_ENTITIES = frozenset({PASSPORT_NUMBER, NATIONAL_ID, CONTACT_HANDLE})
"""The entity types this module introduces: formats or explicit cues, so trusted enough for
the firewall to block on (phone numbers it already blocks)."""

NATIONAL_REGIONS: tuple[str, ...] = ("GB", "DE", "FR", "IN", "AU", "NL", "ES", "IT", "BR", "US")
"""Where a number with a trunk zero is tried; a "+"/"00" number names its own country."""

# digits and the separators people put between them, starting at "+", "00" or "0"
_DIALLED = re.compile(r"(?<![\w+/.\-])(\+|\(?0)[\d][\d \t().\-/]{5,24}\d(?![\w\-]|\.\d)")
_DATE = re.compile(r"\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}")
_INTERNATIONAL_SCORE = 0.7
_NATIONAL_SCORE = 0.5

_CONTACT_CUE = re.compile(
    r"(?:\b(?:call|text|ring|phone|reach|contact|message|msg|ping|dm|sms|whatsapp|email|"
    r"e-mail|mail|find)\s+me(?:\s+(?:on|at|via|through|by|under))?"
    r"|\bmy\s+(?:mobile|cell|cellphone|phone|number|tel|telephone|whatsapp|telegram|signal|"
    r"handle|contact|private\s+number|home\s+number)(?:\s+(?:number|no\.?|nr\.?|is))*"
    r"|\b(?:mobile|cell|cellphone|telephone|phone|contact|home|private|work)\s+"
    r"(?:number|no\.?|nr\.?|#)"
    r"|\b(?:whatsapp|telegram|signal|viber|wechat|skype|line\s+id|tel|mob|ph|cell|mobile)\b"
    r"(?:\s+(?:me|on|at|via|is|number|no\.?))*)"
    r"\s*[:=#\-\u2013]?\s*",
    re.IGNORECASE,
)
_CUED_DIGITS = re.compile(r"\+?\(?\d[\d \t().\-/]{4,24}\d")
_CUED_HANDLE = re.compile(r"@[A-Za-z0-9_.]{2,32}")
_SPELLED_EMAIL = re.compile(
    r"[\w.+\-]+(?:\s*(?:\(dot\)|\[dot\]|\s+dot\s+)\s*[\w+\-]+)*"
    r"\s*(?:\(at\)|\[at\]|\s+at\s+)\s*[\w\-]+"
    r"(?:\s*(?:\(dot\)|\[dot\]|\s+dot\s+|\.)\s*[\w\-]+)+",
    re.IGNORECASE,
)
_CUE_SCORE = 0.75

_PASSPORT_CUE = r"passport(?:\s+(?:no\.?|number|nr\.?|#|id))?"
_NATIONAL_ID_CUE = (
    r"national\s+(?:id(?:entity)?|insurance|identification)(?:\s+card)?"
    r"(?:\s+(?:no\.?|number|nr\.?|#))?"
    r"|(?:id|identity|identification)\s+(?:card|document)(?:\s+(?:no\.?|number|nr\.?|#))?"
    r"|(?:id|identity)\s+(?:no\.?|number|nr\.?|#)"
    r"|social\s+security(?:\s+(?:no\.?|number|nr\.?|#))?"
    r"|social\s+insurance\s+(?:no\.?|number)"
    r"|tax\s+(?:id|number|file\s+number|identification\s+number)"
    r"|personal\s+(?:id|identity)\s+(?:no\.?|number|code)"
    r"|codice\s+fiscale|personnummer|personalausweis(?:nummer)?|steuer-?id|aadhaa?r"
    r"|ni\s+(?:no\.?|number)|nino|ssn|sin|tfn|pesel|dni|nie|nif|bsn|cpf|itin|nric|hkid|curp"
    r"|driver'?s?\s+licen[cs]e(?:\s+(?:no\.?|number|nr\.?|#))?"
)
_DOCUMENT_CUE = re.compile(
    rf"\b(?:(?P<passport>{_PASSPORT_CUE})|(?P<national>{_NATIONAL_ID_CUE}))(?!\w)"
    r"\s*(?:[:=#\-\u2013]|\bis\b)?\s*",
    re.IGNORECASE,
)
_ID_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-./]*")
_CUED_ID_SCORE = 0.8
# HMRC's format: two prefix letters (not D, F, I, Q, U, V; second not O; some pairs never
# issued), six digits, suffix A-D. "QQ" is HMRC's own example prefix and is matched too.
_NINO = re.compile(
    r"(?<![\w])(?!BG|GB|KN|NK|NT|TN|ZZ)(?:[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]|QQ)"
    r"\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D](?!\w)"
)
_NINO_SCORE = 0.65


def _digits(text: str) -> int:
    return sum(char.isdigit() for char in text)


class _SpanRecognizer(LocalRecognizer):
    """A local recognizer that yields (entity, start, end, score, why) and leaves the
    Presidio bookkeeping to this base."""

    name: str  # set by Presidio; declared for the type checker

    def __init__(self, *, entities: list[str], name: str) -> None:
        super().__init__(supported_entities=entities, name=name, supported_language="en")

    def load(self) -> None:  # nothing to load: patterns are compiled at import
        return None

    def spans(self, text: str) -> Iterator[tuple[str, int, int, float, str]]:
        raise NotImplementedError

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        wanted = set(entities or self.supported_entities)
        return [
            explained_result(self, entity, start, end, score, why)
            for entity, start, end, score, why in self.spans(text)
            if entity in wanted
        ]


class DialablePhoneRecognizer(_SpanRecognizer):
    """A number as it is dialled, judged by python-phonenumbers' *possible* check.

    Possible, not valid: validity follows the ranges allocated when the metadata was cut,
    and a phone number typed by a person is personal whether or not its range is allocated.
    The dialling prefix is the evidence that keeps precision: "+CC" or "00CC" then a length
    right for that country, or a trunk "0" and a length right for a configured region.
    """

    def __init__(self) -> None:
        super().__init__(entities=[PHONE_NUMBER], name="DialablePhoneRecognizer")

    def spans(self, text: str) -> Iterator[tuple[str, int, int, float, str]]:
        if _digits(text) < 7:
            return
        for match in _DIALLED.finditer(text):
            start, value = match.start(), match.group().rstrip(" \t(-./")
            end = start + len(value)
            if _DATE.fullmatch(value.strip()):
                continue
            judged = _judge_number(value)
            if judged is not None:
                score, why = judged
                yield PHONE_NUMBER, start, end, score, why


def _judge_number(value: str) -> tuple[float, str] | None:
    digits = _digits(value)
    international = value.startswith("+") or value.startswith("00")
    if international:
        if not 8 <= digits <= 17:
            return None
        dialled = "+" + value[2:] if value.startswith("00") else value
        try:
            number = phonenumbers.parse(dialled, None)
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_possible_number(number):
            region = phonenumbers.region_code_for_number(number) or "?"
            return _INTERNATIONAL_SCORE, f"possible {region} number with country code"
        return None
    if not 9 <= digits <= 13:
        return None
    for region in NATIONAL_REGIONS:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return _NATIONAL_SCORE, f"possible {region} number with trunk prefix"
    return None


class ContactCueRecognizer(_SpanRecognizer):
    """The value after an explicit contact instruction: the instruction is the evidence,
    so any number of six digits or more, an @handle or a spelled-out email is taken."""

    def __init__(self) -> None:
        super().__init__(entities=[PHONE_NUMBER, CONTACT_HANDLE], name="ContactCueRecognizer")

    def spans(self, text: str) -> Iterator[tuple[str, int, int, float, str]]:
        if _digits(text) < 6 and "@" not in text and " at " not in text.lower():
            return
        for cue in _CONTACT_CUE.finditer(text):
            at = cue.end()
            digits = _CUED_DIGITS.match(text, at)
            if digits is not None and _digits(digits.group()) >= 6:
                yield PHONE_NUMBER, at, digits.end(), _CUE_SCORE, "digits after a contact cue"
                continue
            handle = _CUED_HANDLE.match(text, at)
            if handle is not None:
                yield CONTACT_HANDLE, at, handle.end(), _CUE_SCORE, "handle after a contact cue"
                continue
            spelled = _SPELLED_EMAIL.match(text, at)
            if spelled is not None and "@" not in spelled.group():  # real ones: EmailRecognizer
                yield CONTACT_HANDLE, at, spelled.end(), _CUE_SCORE, "address after a contact cue"


class IdentityDocumentRecognizer(_SpanRecognizer):
    """An id after the name of a document, and UK National Insurance numbers by shape.

    The value is the run of tokens after the cue that each hold a digit, or are at most two
    capital letters ("QQ 12 34 56 C"), with four digits or more in all: "passport renewal 2024"
    is not a passport number, "passport 533380006" and "DNI 12345678Z" are.
    """

    def __init__(self) -> None:
        super().__init__(entities=[PASSPORT_NUMBER, NATIONAL_ID], name="IdentityDocumentRecognizer")

    def spans(self, text: str) -> Iterator[tuple[str, int, int, float, str]]:
        if _digits(text) < 4:
            return
        for cue in _DOCUMENT_CUE.finditer(text):
            entity = PASSPORT_NUMBER if cue.group("passport") else NATIONAL_ID
            end = _id_value_end(text, cue.end())
            if end is not None:
                yield entity, cue.end(), end, _CUED_ID_SCORE, "id after a document name"
        for nino in _NINO.finditer(text):
            yield NATIONAL_ID, nino.start(), nino.end(), _NINO_SCORE, "UK NI number format"


def _id_value_end(text: str, at: int) -> int | None:
    end, digits, position = None, 0, at
    while True:
        token = _ID_TOKEN.match(text, position)
        if token is None:
            break
        value = token.group().rstrip("-./")
        if not (any(c.isdigit() for c in value) or (value.isupper() and len(value) <= 2)):
            break
        digits += _digits(value)
        end = token.start() + len(value)
        gap = re.match(r"[ \t]", text[end:])  # one space between parts, no more
        if gap is None:
            break
        position = end + 1
    return end if end is not None and digits >= 4 else None


def contact_and_id_recognizers() -> list[LocalRecognizer]:
    return [DialablePhoneRecognizer(), ContactCueRecognizer(), IdentityDocumentRecognizer()]
