"""The known personal values of one record, and the one normalisation every PII check shares.

Both the deny-list recognizer (which must *find* these values in free text) and the prompt
firewall (which must *refuse* text still holding them) compare on the same normalised form,
so "PRIYA", "priya" and "Priyá" are one value everywhere. Keeping `normalise` here (and only
here) is what makes the two agree.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from core.employee import Employee

MIN_VALUE_LENGTH = 2
"""Single letters ("J", an initial) would match everywhere and protect nothing."""

_EMAIL_LOCAL_SEPARATORS = re.compile(r"[._+\-]+")


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def normalise(text: str) -> str:
    """Compatibility-decompose, drop combining marks and casefold.

    NFKD turns "Zoë" into "Zoe" + a combining diaeresis and full-width or ligature forms into
    plain letters; casefold (not lower) also folds "ß" to "ss", so a value typed either way
    compares equal.

    Done on the whole string, which gives what folding each character would: NFKD only
    reorders combining marks among themselves (all dropped here), and casefold has no
    context rules.
    """
    if text.isascii():  # the common case, and casefold keeps ASCII lengths
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def normalise_with_offsets(text: str) -> tuple[str, list[int]]:
    """`normalise(text)` plus, for each folded character, the index of its source character.

    Folding changes lengths ("ß" -> "ss", "ﬁ" -> "fi", combining marks vanish), so matches
    found in the folded text need this map to land on the right characters of the original.
    The list has one extra trailing entry (``len(text)``) so a match end maps cleanly.
    """
    if text.isascii():
        return text.casefold(), list(range(len(text) + 1))
    folded: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        if char.isascii():  # folding an ASCII character is lower-casing it
            folded.append(char.lower())
            offsets.append(index)
            continue
        piece = _fold_char(char)
        folded.append(piece)
        offsets.extend([index] * len(piece))
    offsets.append(len(text))
    return "".join(folded), offsets


def is_whole_word(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` has no word character right before or after it: how the
    deny-list and the firewall tell a record's value from part of a longer word."""
    return (start == 0 or not _is_word_char(text[start - 1])) and (
        end == len(text) or not _is_word_char(text[end])
    )


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"  # what `\w` matches in a str pattern


def _clean(values: Iterable[str | None]) -> tuple[str, ...]:
    """Strip, drop empties and too-short values, de-duplicate on the normalised form."""
    seen: set[str] = set()
    kept: list[str] = []
    for value in values:
        if value is None:
            continue
        stripped = value.strip()
        key = normalise(stripped)
        if len(key) < MIN_VALUE_LENGTH or key in seen:
            continue
        seen.add(key)
        kept.append(stripped)
    return tuple(kept)


def _name_parts(name: str) -> list[str]:
    """A full name and each of its words: "Mary Ann" is also found as "Mary" alone."""
    words = [word for word in re.split(r"[\s,]+", name) if word]
    return [name, *words] if len(words) > 1 else words


@dataclass(frozen=True)
class RecordIdentity:
    """What identifies one person in one record; values keep their original spelling.

    Original spelling is kept so placeholders map back to what the HRIS said; every
    comparison goes through `normalise`.
    """

    names: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    email_local_parts: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_employee(cls, employee: Employee, manager_names: Sequence[str] = ()) -> RecordIdentity:
        """Build the identity from the record itself, plus the manager's names if known.

        The manager's names come from outside the record (the record only holds the
        manager's id), so the caller passes them when it has looked them up.
        """
        raw_names: list[str] = []
        for name in (
            f"{employee.given_name} {employee.family_name}",
            employee.display_name,
            employee.given_name,
            employee.family_name,
            employee.preferred_name,
            *manager_names,
        ):
            if name:
                raw_names.extend(_name_parts(name))
        email = str(employee.email)
        local = email.split("@", 1)[0]
        local_parts = [local, *_EMAIL_LOCAL_SEPARATORS.split(local)]
        names = _clean(raw_names)
        name_keys = {normalise(name) for name in names}
        return cls(
            names=names,
            emails=_clean([email]),
            ids=_clean([employee.external_id, employee.manager_external_id]),
            # a local-part word that is also a name stays a PERSON, not an email fragment
            email_local_parts=_clean(
                part for part in local_parts if normalise(part) not in name_keys
            ),
        )

    def values(self) -> frozenset[str]:
        """Normalised strings that must never appear in anything sent to a model."""
        return frozenset(
            normalise(value)
            for value in (*self.names, *self.emails, *self.email_local_parts, *self.ids)
        )

    def is_empty(self) -> bool:
        return not (self.names or self.emails or self.ids or self.email_local_parts)
