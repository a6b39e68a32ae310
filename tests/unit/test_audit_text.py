"""What a run writes to the append-only audit and its outcome: ids, labels and text that
passed the firewall as audit text, never a raw value, whichever field it arrives in."""

from __future__ import annotations

import pytest

from agents.provisioning.audit_trail import (
    audit_screen,
    review_requested_entry,
    screened_skills,
    screened_title,
)
from core.catalog import load_catalog
from core.vault import pseudonym
from pii.audit_text import WITHHELD, AuditScreen, AuditText
from pii.guard import get_guard
from pii.identity import RecordIdentity
from tests.factories import make_employee

RECEIPT = "rcpt_0123456789abcdef0123456789abcdef"
SUBJECT = pseudonym("E20417", secret=b"k" * 32)


@pytest.fixture(scope="module")
def screen() -> AuditScreen:
    person = make_employee(given_name="Zephyrine", family_name="Quillfeather")
    return audit_screen(
        firewall=get_guard().firewall,
        identity=RecordIdentity.from_employee(person),
        catalog=load_catalog(),
        titles=None,
        own_ids=[RECEIPT, SUBJECT],
    )


def test_a_skill_is_recorded_as_ids_and_labels_and_its_text_only_if_it_passes(
    screen: AuditScreen,
) -> None:
    skills = [
        {
            "text": "ms excel",
            "concept_id": "http://data.europa.eu/esco/skill/sheets",
            "label": "use spreadsheets software",
            "confidence": 1.0,
            "method": "exact",
            "candidates": [{"concept_id": "x", "label": "y", "score": 0.5}],
        },
        # as a model view built before the recognizers knew these formats would hold them
        {"text": "cell +44 7700 900123", "confidence": 0.02, "method": "abstained"},
        {"text": "passport 533380006", "confidence": 0.01, "method": "abstained"},
        {"text": "ask Zephyrine", "confidence": 0.01, "method": "abstained"},
        {"text": "ticket 88231904", "confidence": 0.01, "method": "abstained"},
        {"text": "cell <PHONE_NUMBER_1>", "confidence": 0.01, "method": "abstained"},
        {"text": "ISO 27001 lead auditor 2019-2023", "confidence": 0.01, "method": "abstained"},
    ]
    recorded = screened_skills(screen, skills)
    assert recorded[0] == {
        "index": 0,
        "concept_id": "http://data.europa.eu/esco/skill/sheets",
        "label": "use spreadsheets software",
        "confidence": 1.0,
        "method": "exact",
        "text": "ms excel",
    }
    assert [r["text"] for r in recorded[1:]] == [
        WITHHELD,
        WITHHELD,
        WITHHELD,  # the record's own name
        WITHHELD,  # a long number no recognizer names is not kept either
        "cell <PHONE_NUMBER_1>",
        "ISO 27001 lead auditor 2019-2023",  # a year range is not a number to withhold
    ]
    assert [r["index"] for r in recorded] == list(range(len(skills)))


def test_model_text_in_a_title_decision_is_screened_and_ids_survive(
    screen: AuditScreen,
) -> None:
    title = {
        "title": "Registered Nurse",
        "role_id": "role-29-1141",
        "confidence": 0.91,
        "rationale": "Matches; the nurse said to call +49 30 901820",
        "evidence": ["candidate: role-29-1141", "approved title: Nurse QQ 12 34 56 C"],
        "flags": [],
        "candidates": [{"role_id": "role-29-1141", "score": 0.9}],
        "provenance": {"mapper": "llm", "shown": ["role-29-1141"], "note": "DNI 12345678Z"},
    }
    kept = screened_title(screen, title)
    assert kept is not None
    assert kept["title"] == "Registered Nurse" and kept["role_id"] == "role-29-1141"
    assert kept["rationale"] == WITHHELD
    assert kept["evidence"] == ["candidate: role-29-1141", WITHHELD]
    assert "candidates" not in kept
    # a field nobody thought to screen is caught by the sweep
    assert kept["provenance"] == {"mapper": "llm", "shown": ["role-29-1141"], "note": WITHHELD}


def test_the_review_request_entry_screens_its_evidence(screen: AuditScreen) -> None:
    request = {
        "action_request": {
            "args": {
                "rules": ["ai-low-confidence"],
                "confidence": 0.4,
                "before": [],
                "after": ["role-29-1141"],
                "user_action": "create",
                "reasons": {"ai-low-confidence": "AI confidence 0.40 < 0.80"},
                "evidence": ["approved title: Nurse, whatsapp +33 6 12 34 56 78"],
            }
        }
    }
    entry = review_requested_entry(
        event_id="evt_1",
        receipt_id=RECEIPT,
        subject=SUBJECT,
        review_id="rev_9f8e7d6c5b4a39281706",
        request=request,
        screen=screen,
    )
    assert entry.provenance["evidence"] == [WITHHELD]
    assert entry.provenance["review_id"] == "rev_9f8e7d6c5b4a39281706"
    assert entry.provenance["reasons"] == {"ai-low-confidence": "AI confidence 0.40 < 0.80"}
    assert entry.after == {"groups": ["role-29-1141"], "user_action": "create"}


def test_run_ids_and_the_pseudonym_are_not_mistaken_for_numbers(screen: AuditScreen) -> None:
    payload = {"receipt": RECEIPT, "subject": SUBJECT, "version": "demo-2026.11"}
    assert screen.payload(payload) == payload
    assert screen.text(f"run {RECEIPT}") == f"run {RECEIPT}"


def test_audit_text_is_made_by_the_screen_only(screen: AuditScreen) -> None:
    with pytest.raises(TypeError):
        AuditText("cell +44 7700 900123")
    admitted = screen.text("Registered Nurse")
    assert isinstance(admitted, AuditText) and admitted == "Registered Nurse"
