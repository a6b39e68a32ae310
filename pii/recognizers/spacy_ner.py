"""spaCy NER with job titles (and other ordinary words it reads as people) filtered out."""

from __future__ import annotations

import re
from collections.abc import Sequence

from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import SpacyRecognizer
from spacy.tokens import Doc

from pii.identity import normalise
from pii.names import is_english_word, is_inflected_english_word, load_gazetteer
from pii.recognizers.entities import PERSON

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
