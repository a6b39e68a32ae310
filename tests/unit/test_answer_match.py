"""Reading a model's answer against the ids it was shown: what a person would accept, never
more (ids outside the shown ones, or answers fitting two of them, are no answer)."""

from __future__ import annotations

import math

import pytest

from agents.title_agent.answer_match import (
    AmbiguousAnswerError,
    is_abstention,
    match_answer,
    read_confidence,
)

SHOWN = {
    "role-29-1141": "Registered Nurses",
    "role-29-1171": "Nurse Practitioners",
    "role-15-1252": "Software Developers",
}


@pytest.mark.parametrize(
    ("answer", "role_id", "how"),
    [
        ("role-29-1141", "role-29-1141", "exact"),
        ("  ROLE-29-1141 ", "role-29-1141", "normalised"),
        ('"role-29-1141".', "role-29-1141", "normalised"),
        ("registered nurses", "role-29-1141", "label"),
        ("role-29-1141 | Registered Nurses", "role-29-1141", "id_then_text"),
        ("29-1141", "role-29-1141", "id_suffix"),
        ("15-1252", "role-15-1252", "id_suffix"),
        ("1141", "role-29-1141", "id_suffix"),  # a whole part, of one shown id only
    ],
)
def test_answers_a_person_would_accept(answer: str, role_id: str, how: str) -> None:
    got = match_answer(answer, SHOWN)
    assert got is not None and (got.role_id, got.how) == (role_id, how)


@pytest.mark.parametrize(
    "answer",
    [
        "role-43-4051",  # a real catalog id, but not shown
        "43-4051",
        "Customer Service Representatives",  # a label of a role not shown
        "administrators",
        "9-1141",  # a fragment that is no whole part of an id
        "41",
        "role-29-11415",  # the id with one more digit is another id
        "nurse",
    ],
)
def test_nothing_outside_the_shown_candidates(answer: str) -> None:
    assert match_answer(answer, SHOWN) is None


@pytest.mark.parametrize("answer", ["role", "role-29", "ROLE-29"])
def test_an_answer_fitting_two_shown_roles_is_no_answer(answer: str) -> None:
    with pytest.raises(AmbiguousAnswerError):
        match_answer(answer, SHOWN)


def test_two_shown_roles_with_one_label_make_the_label_ambiguous() -> None:
    with pytest.raises(AmbiguousAnswerError):
        match_answer("analyst", {"role-a": "Analyst", "role-b": "analyst"})


@pytest.mark.parametrize("answer", [None, "", "null", "None", " n/a "])
def test_abstentions(answer: str | None) -> None:
    assert is_abstention(answer)


@pytest.mark.parametrize(
    ("given", "read", "noted"),
    [
        (0.0, 0.0, False),
        (0.73, 0.73, False),
        (1.0, 1.0, False),
        (13.38, 0.1338, True),
        (85, 0.85, True),
        (100, 1.0, True),
    ],
)
def test_confidences_are_read_as_probabilities(given: float, read: float, noted: bool) -> None:
    got = read_confidence(given)
    assert got is not None and got.value == pytest.approx(read)
    assert (got.note is not None) is noted


@pytest.mark.parametrize("given", [-0.1, 100.5, 1e6, math.nan, math.inf])
def test_a_confidence_no_probability_can_be_read_from_is_refused(given: float) -> None:
    """Clamping 250 to 1.0 would make a model that ignored the scale look certain."""
    assert read_confidence(given) is None
