"""Job-title normalisation before matching.

HRIS titles carry things the role catalog does not: abbreviations ("Sr Acct Mgr"), grades
("Engineer III", "L4"), places ("- EMEA", "(Berlin)"), and working patterns ("Night Shift",
"PRN"). Left in, they dilute both the lexical and the embedding match ("registered nurse"
vs "RN night shift float"). We move them into separate fields instead of deleting them so
that callers can still use them (a level can map to a grade, a location to a site) and so
reviewers can see what was stripped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

ABBREVIATIONS: dict[str, str] = {
    "sr": "senior",
    "snr": "senior",
    "jr": "junior",
    "jnr": "junior",
    "mgr": "manager",
    "mngr": "manager",
    "mgmt": "management",
    "acct": "account",
    "accts": "accounts",
    "exec": "executive",
    "execs": "executives",
    "rn": "registered nurse",
    "lpn": "licensed practical nurse",
    "cna": "certified nursing assistant",
    "eng": "engineer",
    "engr": "engineer",
    "dev": "developer",
    "devs": "developers",
    "admin": "administrator",
    "assoc": "associate",
    "asst": "assistant",
    "dir": "director",
    "vp": "vice president",
    "svp": "senior vice president",
    "evp": "executive vice president",
    "avp": "assistant vice president",
    "ceo": "chief executive officer",
    "cfo": "chief financial officer",
    "cto": "chief technology officer",
    "coo": "chief operating officer",
    "cio": "chief information officer",
    "cmo": "chief marketing officer",
    "coord": "coordinator",
    "rep": "representative",
    "reps": "representatives",
    "spec": "specialist",
    "tech": "technician",
    "techs": "technicians",
    "swe": "software engineer",
    "sde": "software development engineer",
    "sre": "site reliability engineer",
    "qa": "quality assurance",
    "hr": "human resources",
    "ops": "operations",
    "mktg": "marketing",
    "mkt": "marketing",
    "svc": "service",
    "svcs": "services",
    "cust": "customer",
    "supv": "supervisor",
    "supvr": "supervisor",
    "dept": "department",
    "adm": "administrative",
    "admn": "administration",
    "analyt": "analytics",
    "pharm": "pharmacy",
    "ofc": "office",
    "mech": "mechanical",
    "elec": "electrical",
    "maint": "maintenance",
    "prod": "production",
    "intl": "international",
    "natl": "national",
    "govt": "government",
}
"""Token-level expansions; applied after phrase rules so that "tech lead" is not a technician."""

PHRASES: tuple[tuple[str, str], ...] = (
    ("tech lead", "technical lead"),
    ("team lead", "team leader"),
    ("customer svc", "customer service"),
    ("c/s", "customer service"),
    ("r&d", "research and development"),
    ("f&b", "food and beverage"),
    ("p&l", "profit and loss"),
)

SENIORITY_WORDS: tuple[str, ...] = (
    "entry level",
    "entry-level",
    "mid level",
    "mid-level",
    "fresh graduate",
    "graduate",
    "senior",
    "junior",
    "principal",
    "intern",
    "internship",
    "trainee",
    "apprentice",
    "experienced",
)

MODIFIER_PHRASES: tuple[str, ...] = (
    "night shift",
    "day shift",
    "evening shift",
    "weekend shift",
    "rotating shift",
    "nights",
    "weekends",
    "float pool",
    "float",
    "prn",
    "per diem",
    "part time",
    "part-time",
    "full time",
    "full-time",
    "on call",
    "on-call",
    "seasonal",
    "male only",
    "female only",
    "m/f/d",
    "m/w/d",
    "f/m/d",
    "m/f",
    "h/f",
    "f/h",
)

SEGMENT_ONLY_MODIFIERS: tuple[str, ...] = ("contract", "temporary", "temp", "locum", "permanent")
"""Working-pattern words that are also role words ("contract engineer", "locum doctor"):
stripped only when they make up a whole bracket or " - " tail ("Engineer (Contract)")."""

NOISE_PHRASES: tuple[str, ...] = (
    "we are hiring",
    "now hiring",
    "hiring",
    "urgently required",
    "urgently needed",
    "urgently",
    "urgent",
    "immediate start",
    "immediate hiring",
    "vacancy",
    "vacancies",
    "job opening",
    "walk in interview",
    "walk-in interview",
)
"""Job-advert noise around a title; kept in ``modifiers`` so nothing silently disappears."""

REGIONS: frozenset[str] = frozenset(
    {
        "emea",
        "apac",
        "apj",
        "latam",
        "amer",
        "americas",
        "na",
        "nam",
        "noram",
        "dach",
        "nordics",
        "benelux",
        "uk",
        "us",
        "usa",
        "eu",
        "europe",
        "asia",
        "global",
        "worldwide",
        "nyc",
        "sf",
        "sfo",
        "la",
        "bay area",
        "new york",
        "san francisco",
        "london",
        "berlin",
        "munich",
        "paris",
        "amsterdam",
        "dublin",
        "madrid",
        "barcelona",
        "lisbon",
        "milan",
        "zurich",
        "vienna",
        "warsaw",
        "prague",
        "stockholm",
        "copenhagen",
        "oslo",
        "helsinki",
        "brussels",
        "toronto",
        "vancouver",
        "sydney",
        "melbourne",
        "singapore",
        "hong kong",
        "tokyo",
        "dubai",
        "kuala lumpur",
        "kl",
        "penang",
        "selangor",
        "johor",
        "malaysia",
        "chicago",
        "boston",
        "seattle",
        "austin",
        "denver",
        "atlanta",
        "remote",
        "hybrid",
        "onsite",
        "on-site",
        "home based",
        "home-based",
        "wfh",
    }
)
"""Small on purpose: a location we miss stays in the text and costs a little score; a role
word we wrongly call a place (e.g. "Nurse - ICU") would lose the match entirely."""

_LEVEL_TRAILING = re.compile(r"\s+(i{1,3}|iv|v|[1-5])$")
_LEVEL_MARKER = re.compile(r"\b(?:(?:level|lvl)\s*(\d+)|l(\d{1,2}))\b")
_PAREN = re.compile(r"[(\[]([^()\[\]]*)[)\]]")
_DASH_TAIL = re.compile(r"\s+[-\u2013\u2014|]\s+([^-\u2013\u2014|]+)$")
_IN_PLACE = re.compile(r"\s+(?:in|at|based in)\s+(.+)$")
_NON_WORD = re.compile(r"[^\w&/+#.\s-]")
_SPACES = re.compile(r"\s+")
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5"}


@dataclass(frozen=True)
class NormalisedTitle:
    """A title split into what identifies the role and what only qualifies it."""

    raw: str
    text: str
    """Lowercase role words with abbreviations expanded: what the ranker matches on."""
    level: str | None = None
    location: str | None = None
    modifiers: tuple[str, ...] = field(default_factory=tuple)


def _fold(text: str) -> str:
    """Lowercase and strip accents, so "Protégé" and "PROTEGE" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _is_modifier_segment(fragment: str) -> bool:
    """A bracket or tail made only of working-pattern words ("contract, 6 months" is not)."""
    rest = fragment
    for phrase in (*MODIFIER_PHRASES, *SEGMENT_ONLY_MODIFIERS):
        rest = re.sub(rf"(?<![\w/]){re.escape(phrase)}(?![\w/])", " ", rest)
    return bool(fragment.strip()) and not re.sub(r"[\s,/&+-]|\band\b", "", rest)


def _is_location(fragment: str) -> bool:
    parts = [p.strip() for p in re.split(r"[,/]|\band\b", fragment) if p.strip()]
    return bool(parts) and all(p in REGIONS for p in parts)


def _take_phrases(text: str, phrases: tuple[str, ...], found: list[str]) -> str:
    for phrase in phrases:
        pattern = re.compile(rf"(?<![\w/]){re.escape(phrase)}(?![\w/])")
        if pattern.search(text):
            found.append(phrase.replace("-", " "))
            text = pattern.sub(" ", text)
    return text


def _expand_tokens(text: str) -> str:
    for phrase, expansion in PHRASES:
        text = re.sub(rf"(?<!\w){re.escape(phrase)}(?!\w)", expansion, text)
    words = []
    for token in text.split():
        bare = token.rstrip(".")
        words.append(ABBREVIATIONS.get(bare, bare))
    return " ".join(words)


def normalise_title(raw: str) -> NormalisedTitle:
    text = _fold(raw).strip()
    locations: list[str] = []
    modifiers: list[str] = []
    levels: list[str] = []

    def bracket(match: re.Match[str]) -> str:
        inner = match.group(1).strip()
        if _is_location(inner):
            locations.append(inner)
            return " "
        if _is_modifier_segment(inner):
            _take_phrases(inner, (*MODIFIER_PHRASES, *SEGMENT_ONLY_MODIFIERS), modifiers)
            return " "
        return f" {inner} "

    text = _take_phrases(text, NOISE_PHRASES, modifiers)
    text = _PAREN.sub(bracket, text)
    while tail := _DASH_TAIL.search(text):
        fragment = tail.group(1).strip()
        if _is_location(fragment):
            locations.append(fragment)
        elif _is_modifier_segment(fragment):
            _take_phrases(fragment, (*MODIFIER_PHRASES, *SEGMENT_ONLY_MODIFIERS), modifiers)
        else:
            break
        text = text[: tail.start()]
    if (place := _IN_PLACE.search(text)) and _is_location(place.group(1).strip()):
        locations.append(place.group(1).strip())
        text = text[: place.start()]
    for region in sorted(REGIONS, key=len, reverse=True):
        pattern = re.compile(rf"(?<![\w-]){re.escape(region)}(?![\w-])")
        if region in {"remote", "hybrid", "onsite", "on-site", "wfh", "nyc", "emea", "apac"} and (
            pattern.search(text)
        ):
            locations.append(region)
            text = pattern.sub(" ", text)

    text = _take_phrases(text, MODIFIER_PHRASES, modifiers)
    text = _expand_tokens(_NON_WORD.sub(" ", text.replace("&", " and ")))
    text = _take_phrases(text, SENIORITY_WORDS, levels)

    def marker(match: re.Match[str]) -> str:
        levels.append(next(g for g in match.groups() if g))
        return " "

    text = _LEVEL_MARKER.sub(marker, text)
    text = _SPACES.sub(" ", text.replace(" - ", " ")).strip(" -/,.")
    if (trailing := _LEVEL_TRAILING.search(text)) and trailing.start() > 0:
        levels.append(_ROMAN.get(trailing.group(1), trailing.group(1)))
        text = text[: trailing.start()]
    text = _SPACES.sub(" ", text).strip(" -/,.")
    if not text:  # a title that was only qualifiers ("Senior") keeps its words
        text = _SPACES.sub(" ", _fold(raw)).strip()
    return NormalisedTitle(
        raw=raw,
        text=text,
        level=" ".join(levels) or None,
        location=", ".join(dict.fromkeys(locations)) or None,
        modifiers=tuple(dict.fromkeys(modifiers)),
    )
