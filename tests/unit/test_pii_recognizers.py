"""Recognizers on HR text: titles stay, ids/addresses/phones/names go, nothing goes online."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap

import pytest
from presidio_analyzer import AnalyzerEngine

from pii.analyzer import get_analyzer
from pii.identity import RecordIdentity, normalise, normalise_with_offsets
from pii.recognizers.record_deny_list import DENY_LIST_RECOGNIZER, RecordDenyListRecognizer
from tests.factories import make_employee


@pytest.fixture(scope="module")
def analyzer() -> AnalyzerEngine:
    return get_analyzer()


def found(analyzer: AnalyzerEngine, text: str, **kwargs: object) -> set[tuple[str, str]]:
    results = analyzer.analyze(text, language="en", **kwargs)  # type: ignore[arg-type]
    return {(r.entity_type, text[r.start : r.end]) for r in results}


@pytest.mark.parametrize(
    "title",
    ["Senior Account Executive", "Controller", "Recruiter", "RN Night Shift Float"],
)
def test_job_titles_are_not_people_or_organisations(analyzer: AnalyzerEngine, title: str) -> None:
    for text in (title, f"Promoted to {title} in the Berlin office."):
        types = {entity for entity, _ in found(analyzer, text)}
        assert not types & {"PERSON", "ORGANIZATION"}, (text, types)


def test_job_code_is_not_an_employee_id(analyzer: AnalyzerEngine) -> None:
    assert not {e for e, _ in found(analyzer, "Job code 15-1252.00, employee record")} & {
        "EMPLOYEE_ID"
    }


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Employee E12345 moved teams.", "E12345"),
        ("Badge number EMP-004211 was reissued.", "EMP-004211"),
        ("Staff id AB123456 on file.", "AB123456"),
    ],
)
def test_employee_ids_with_context(analyzer: AnalyzerEngine, text: str, value: str) -> None:
    assert ("EMPLOYEE_ID", value) in found(analyzer, text)


@pytest.mark.parametrize(
    "phone", ["+44 20 7946 0958", "(555) 123-4567", "+49 30 1234567", "020 7946 0958"]
)
def test_international_phone_numbers(analyzer: AnalyzerEngine, phone: str) -> None:
    assert ("PHONE_NUMBER", phone) in found(analyzer, f"Call me on {phone} after 5.")


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("Her SSN is 536-22-1987.", "US_SSN", "536-22-1987"),
        ("Card 4111 1111 1111 1111 expired.", "CREDIT_CARD", "4111 1111 1111 1111"),
        ("Pay to GB82WEST12345698765432 please.", "IBAN_CODE", "GB82WEST12345698765432"),
        ("Write to jo.bloggs@example.org today.", "EMAIL_ADDRESS", "jo.bloggs@example.org"),
        ("She moved to 123 Main Street last year.", "STREET_ADDRESS", "123 Main Street"),
        ("Send it to 221B Baker St, Apt 4B.", "STREET_ADDRESS", "221B Baker St"),
        ("Send it to 221B Baker St, Apt 4B.", "STREET_ADDRESS", "Apt 4B"),
        ("He was born on 12/03/1985 in Leeds.", "DATE_OF_BIRTH", "12/03/1985"),
    ],
)
def test_pattern_recognizers(analyzer: AnalyzerEngine, text: str, entity: str, value: str) -> None:
    assert (entity, value) in found(analyzer, text)


def test_start_date_is_not_a_date_of_birth(analyzer: AnalyzerEngine) -> None:
    assert "DATE_OF_BIRTH" not in {e for e, _ in found(analyzer, "Starts on 05/01/2026.")}


def test_deny_list_catches_case_and_diacritics_variants(analyzer: AnalyzerEngine) -> None:
    employee = make_employee(given_name="Zoë", family_name="Ångström", preferred_name="Zo")
    deny = RecordDenyListRecognizer(RecordIdentity.from_employee(employee))
    text = "ZOE ANGSTROM met zoë; later Angstrom said hi to Zo."
    results = analyzer.analyze(text, language="en", ad_hoc_recognizers=[deny])
    people = {text[r.start : r.end] for r in results if r.entity_type == "PERSON"}
    assert {"ZOE ANGSTROM", "zoë", "Angstrom", "Zo"} <= people
    assert all(
        r.score == 1.0
        for r in results
        if r.recognition_metadata["recognizer_name"] == DENY_LIST_RECOGNIZER
    )


def test_deny_list_respects_word_boundaries() -> None:
    employee = make_employee(given_name="Al", family_name="Smith")
    deny = RecordDenyListRecognizer(RecordIdentity.from_employee(employee))
    results = deny.analyze("Always ask Al about the Albany plan", entities=[])
    assert [(r.start, r.end) for r in results] == [(11, 13)]


def test_normalise_maps_back_to_original_offsets() -> None:
    folded, offsets = normalise_with_offsets("Straße Zoë")
    assert folded == "strasse zoe" == normalise("Straße Zoë")
    assert offsets[folded.index("zoe")] == 7


def test_building_the_analyzer_never_touches_the_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fresh interpreter, sockets disabled: build, analyze an email, and stay quiet."""
    script = textwrap.dedent(
        """
        import logging, socket, sys
        def refuse(*args, **kwargs):
            raise RuntimeError(f"network access attempted: {args!r}")
        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        logging.basicConfig(level=logging.WARNING)
        from pii.analyzer import build_analyzer
        analyzer = build_analyzer()
        results = analyzer.analyze("Mail priya.patel@acme.co.uk now", language="en")
        assert any(r.entity_type == "EMAIL_ADDRESS" for r in results), results
        print("ok")
        """
    )
    env = {"HOME": "/nonexistent-home-for-tldextract-cache", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert "network access attempted" not in done.stderr
    assert "ConnectionError" not in done.stderr


def test_in_process_build_does_not_call_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        calls.append(address)
        raise OSError("no network in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    from pii.analyzer import build_analyzer

    build_analyzer().analyze("priya@acme.com", language="en")
    assert calls == []


def _people(analyzer: AnalyzerEngine, text: str) -> set[str]:
    """PERSON spans as the scrubber sees them (analyzer plus the document-level pass)."""
    from pii.recognizers.person_refinement import refine_people

    results = refine_people(text, analyzer.analyze(text, language="en"))
    return {text[r.start : r.end] for r in results if r.entity_type == "PERSON"}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Please ask Sigrid about the rota.", "Sigrid"),  # rare given name, no context
        ("Forward it to Aino Kallioniemi today.", "Aino Kallioniemi"),  # known + unknown
        ("cc: Ingrid K. Solberg", "Ingrid K. Solberg"),  # with an initial
        ("Talk to Dmitri Volkonsky's manager.", "Dmitri Volkonsky"),  # possessive
        ("Mr O'Brien called twice.", "O'Brien"),  # honorific, apostrophe
        ("Escalated by ms. Kowalczyk", "Kowalczyk"),  # lower-case honorific
        ("follow up with maria konstantinova next week", "maria konstantinova"),
        ("Signed by Jean-Luc Moreau.", "Jean-Luc Moreau"),  # hyphenated given name
    ],
)
def test_names_beyond_ner(analyzer: AnalyzerEngine, text: str, name: str) -> None:
    assert any(name in person for person in _people(analyzer, text)), _people(analyzer, text)


def test_repeated_family_name_is_found_again(analyzer: AnalyzerEngine) -> None:
    people = _people(analyzer, "Tomasz Wierzbicki wrote it; later Wierzbicki revised it.")
    assert "Wierzbicki" in people


def test_list_of_known_names_after_a_colon(analyzer: AnalyzerEngine) -> None:
    people = _people(analyzer, "Panel: Novak, Becker and Lindqvist.")
    assert {"Novak", "Becker", "Lindqvist"} <= people


@pytest.mark.parametrize(
    "text",
    [
        "She worked at Baker, Hughes and Lowe before joining us.",
        "The Carter, Hayes and Price Orchestra plays on Friday.",
        "Guilty Pleasures was the theme of the offsite.",
        "Discipline and Wisdom are two of our values.",
        "My IBAN changed last month.",
        "Customer Success Manager",
    ],
)
def test_firms_phrases_and_titles_are_not_people(analyzer: AnalyzerEngine, text: str) -> None:
    assert not _people(analyzer, text)


def test_ordinary_word_given_names_need_context(analyzer: AnalyzerEngine) -> None:
    assert not _people(analyzer, "Grace period ends in May.")


def test_deny_list_prefers_the_longest_term_and_never_overlaps() -> None:
    identity = RecordIdentity(names=("Anna Maria", "Anna", "Maria"))
    deny = RecordDenyListRecognizer(identity)
    text = "anna maria, Maria, annamaria and ANNA"
    spans = [text[r.start : r.end] for r in deny.analyze(text, entities=[])]
    assert spans == ["anna maria", "Maria", "ANNA"]
