"""Reading a model's answer the way a careful person would, and no further.

A small model writes "29-1141" for the shown ``role-29-1141``, or the role's label instead
of its id, or a confidence of 85 meaning 85 %. Rejecting such answers throws away right
choices; guessing would let a model pick what it was never shown. So an answer is matched
only against the ids the model was shown, only by normalisations that cannot change which
role is meant, and an answer that fits two shown roles is no answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

_ABSTAIN = frozenset({"", "null", "none", "n/a", "abstain"})
_WRAPPING = " \t\r\n\"'`*.[](){}<>"
_ID_CHAR = re.compile(r"[a-z0-9]")
_SEPARATORS = frozenset("-_:/.")
MIN_PARTIAL_ID = 3
"""A fragment shorter than this ("1", "29") names no role, even when only one id holds it."""


@dataclass(frozen=True)
class AnswerMatch:
    role_id: str
    how: str  # exact | normalised | label | id_then_text | id_suffix | id_prefix


class AmbiguousAnswerError(ValueError):
    """The answer fits more than one shown role."""


def normalise(text: str) -> str:
    return " ".join(text.strip(_WRAPPING).split()).casefold()


def is_abstention(answer: str | None) -> bool:
    return answer is None or normalise(answer) in _ABSTAIN


def match_answer(answer: str, shown: Mapping[str, str]) -> AnswerMatch | None:
    """The one shown role ``answer`` names, or None; ``shown`` maps each shown id to its label.

    Rules in order, the first that matches anything decides; two matches under that rule
    raise ``AmbiguousAnswerError`` instead of falling through to a looser rule."""
    if answer in shown:
        return AnswerMatch(answer, "exact")
    said = normalise(answer)
    if not said:
        return None
    ids = {normalise(role_id): role_id for role_id in shown}
    rules: list[tuple[str, Callable[[str], bool]]] = [
        ("normalised", lambda role: role == said),
        ("label", lambda role: normalise(shown[ids[role]]) == said),
        ("id_then_text", lambda role: _id_then_text(said, role)),
        ("id_suffix", lambda role: _fragment(said, role, at_end=True)),
        ("id_prefix", lambda role: _fragment(said, role, at_end=False)),
    ]
    for how, fits in rules:
        found = [ids[role] for role in ids if fits(role)]
        if len(found) > 1:
            raise AmbiguousAnswerError(f"{answer!r} fits {len(found)} shown roles ({how})")
        if found:
            return AnswerMatch(found[0], how)
    return None


def _id_then_text(said: str, role: str) -> bool:
    """ "role-29-1141 | registered nurses": the id, then something that is not part of an id."""
    return (
        said.startswith(role)
        and len(said) > len(role)
        and not _ID_CHAR.match(said[len(role)])
        and said[len(role)] not in _SEPARATORS
    )


def _fragment(said: str, role: str, *, at_end: bool) -> bool:
    """ "29-1141" of "role-29-1141": a whole part of the id, cut at one of its separators."""
    if len(said) < MIN_PARTIAL_ID or len(said) >= len(role) or " " in said:
        return False
    if at_end:
        return role.endswith(said) and role[-len(said) - 1] in _SEPARATORS
    return role.startswith(said) and role[len(said)] in _SEPARATORS


@dataclass(frozen=True)
class ReadConfidence:
    value: float
    note: str | None  # None when the model gave a probability as asked


def read_confidence(value: float) -> ReadConfidence | None:
    """The model's confidence as a probability, or None when it cannot be read as one.

    Why not clamp: clamping 13.38 to 1.0 would turn a model that ignored the scale into a
    certain one, and certainty is what auto-applies a role. A value in (1, 100] is read as
    a percentage (the usual way people and models write confidence); anything else (negative,
    over 100, not a number) is refused, and the answer is asked for again."""
    if not math.isfinite(value) or value < 0:
        return None
    if value <= 1:
        return ReadConfidence(value, None)
    if value <= 100:
        return ReadConfidence(value / 100, f"read {value:g} as a percentage")
    return None
