"""Skill-mention normalisation before matching against the taxonomy.

Skill strings come from HRIS profiles ("ms excel", "people mgmt") and from spans of job ads
("Strong knowledge of HTML and CSS ( LESS SCSS PostCSS )"). Three things dilute a match
that have nothing to do with the skill itself:

- tokenisation debris from the text the span was cut from: bullets, a dangling ")" or
  " .", ". NET" for ".NET";
- shorthand and spelling: abbreviations, version numbers ("Python 3", "HTML5"), American
  spelling against ESCO's British labels ("optimize" vs "optimise");
- job-ad framing around the skill ("excellent communication skills", "experience with").

:func:`clean_mention` fixes only the first and keeps the text as written (casing can be
meaning: "Go", "LESS"); :func:`normalise_mention` does all three. The normaliser embeds
both, because stripping is sometimes wrong and the fusion weights decide how much each
counts. The abbreviation list is general skill shorthand, not phrases from any dataset.
"""

from __future__ import annotations

import re

ABBREVIATIONS: dict[str, str] = {
    "acct": "accounting",
    "acctg": "accounting",
    "admin": "administration",
    "ai": "artificial intelligence",
    "bi": "business intelligence",
    "biz": "business",
    "comms": "communication",
    "config": "configuration",
    "crm": "customer relationship management",
    "db": "database",
    "dbs": "databases",
    "dev": "development",
    "devs": "developers",
    "eng": "engineering",
    "env": "environment",
    "erp": "enterprise resource planning",
    "hr": "human resources",
    "hw": "hardware",
    "infra": "infrastructure",
    "js": "javascript",
    "k8s": "kubernetes",
    "mgmt": "management",
    "mgmnt": "management",
    "mgt": "management",
    "mgr": "manager",
    "mktg": "marketing",
    "ml": "machine learning",
    "ms": "microsoft",
    "nlp": "natural language processing",
    "oop": "object-oriented programming",
    "ops": "operations",
    "org": "organisation",
    "ppt": "powerpoint",
    "prog": "programming",
    "qa": "quality assurance",
    "qc": "quality control",
    "reqs": "requirements",
    "seo": "search engine optimisation",
    "sw": "software",
    "sysadmin": "system administration",
    "ui": "user interface",
    "ux": "user experience",
    "xls": "excel",
}
"""Token-level, case-insensitive. Deliberately absent: shorthand that is also a common
word or a product name in its own right ("it", "go", "r", "c")."""

LEADING_FRAMES: tuple[str, ...] = (
    "ability to",
    "able to",
    "capable of",
    "experience in",
    "experience with",
    "experience of",
    "expertise in",
    "expertise with",
    "familiarity with",
    "knowledge of",
    "proficiency in",
    "proficiency with",
    "proficient in",
    "skilled in",
    "understanding of",
    "working knowledge of",
)
FILLER_WORDS: frozenset[str] = frozenset(
    {
        "a",
        "an",
        "the",
        "our",
        "your",
        "their",
        "strong",
        "excellent",
        "good",
        "solid",
        "proven",
        "great",
        "demonstrated",
        "skills",
        "skill",
        "abilities",
        "ability",
    }
)
"""Dropped anywhere in the normalised form: they qualify how well, never which skill."""

_BULLETS = re.compile("^[\\s*\u2022\u00b7\\-\u2013\u2014>]+")
_TRAILING = re.compile(r"[\s.?!*,;:]+$")
_LONE_DOT = re.compile(r"(^|\s)\.\s+(?=[A-Za-z])")
_PAREN_SPACE_OPEN = re.compile(r"\(\s+")
_PAREN_SPACE_CLOSE = re.compile(r"\s+\)")
_VERSION_TOKEN = re.compile(r"(?<=[A-Za-z+#])\s+v?\d+(?:\.\d+)*\+?(?=\s|$)")
_VERSION_GLUED = re.compile(r"\b([A-Za-z]{2,}[A-Za-uw-z])\d+(?:\.\d+)*\b")
"""Glued versions ("HTML5", "python3"); not after a lone letter ("S3") or "v" ("IPv6")."""
_AMERICAN_IZE = re.compile(r"\b([a-z]{4,})iz(e|es|ed|ing|ation|ations|er|ers)\b")
_AMERICAN_YZE = re.compile(r"\b([a-z]{3,})yz(e|es|ed|ing|er|ers)\b")
_SEPARATORS = re.compile(r"\s*[/|]\s*")
_WORD = re.compile(r"[a-z0-9][a-z0-9+#.\-]*")


def clean_mention(text: str) -> str:
    """Undo tokenisation debris only; the text keeps its casing and wording."""
    text = " ".join(text.split())
    text = _LONE_DOT.sub(r"\1.", text)
    text = _PAREN_SPACE_OPEN.sub("(", _PAREN_SPACE_CLOSE.sub(")", text))
    if text.count("(") != text.count(")"):
        text = " ".join(text.replace("(", " ").replace(")", " ").split())
    text = _TRAILING.sub("", _BULLETS.sub("", text))
    return text.strip()


def _expand(token: str) -> str:
    bare = token.strip(".,;:")
    return ABBREVIATIONS.get(bare, token)


def normalise_mention(text: str) -> str:
    """Lower-case skill core: versions, abbreviations, spelling and framing normalised.

    Falls back to the cleaned lower-case mention if nothing would be left (a mention that is
    only filler still has to be matched, or abstained on, as written)."""
    cleaned = clean_mention(text)
    text = _VERSION_TOKEN.sub("", cleaned)
    text = _VERSION_GLUED.sub(r"\1", text).lower()
    text = text.replace("&", " and ")
    text = _SEPARATORS.sub(" ", text)
    text = _AMERICAN_IZE.sub(r"\1is\2", text)
    text = _AMERICAN_YZE.sub(r"\1ys\2", text)
    for frame in LEADING_FRAMES:
        if text.startswith(frame + " "):
            text = text[len(frame) + 1 :]
            break
    words = [_expand(w) for w in text.split() if w not in FILLER_WORDS]
    core = " ".join(" ".join(words).split())
    return core or " ".join(cleaned.lower().split())


def tokens(text: str) -> list[str]:
    """Lower-case word tokens, keeping in-word punctuation that names things (c#, node.js)."""
    return _WORD.findall(text.lower())
