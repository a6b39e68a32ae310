"""Phone numbers in any dialling format, identity-document numbers and contact instructions
are found in free text, by the scrubber and by the firewall; skills with digits are not."""

from __future__ import annotations

import pytest

from pii.firewall import Channel, FirewallRefusalError
from pii.guard import PIIGuard, get_guard
from pii.identity import RecordIdentity
from tests.factories import make_employee

# (profile text, the value that must not survive, entity type the scrubber names it)
PERSONAL = [
    ("cell +44 7700 900123", "+44 7700 900123", "PHONE_NUMBER"),  # unallocated drama range
    ("+49 30 901820", "+49 30 901820", "PHONE_NUMBER"),
    ("07700 900123", "07700 900123", "PHONE_NUMBER"),
    ("tel 0049 30 901820", "0049 30 901820", "PHONE_NUMBER"),
    ("+1 415 555 0132", "+1 415 555 0132", "PHONE_NUMBER"),
    ("call me on 0151 234 5678", "0151 234 5678", "PHONE_NUMBER"),
    ("whatsapp +33 6 12 34 56 78", "+33 6 12 34 56 78", "PHONE_NUMBER"),
    ("reach me at 020 7946 0958", "020 7946 0958", "PHONE_NUMBER"),
    ("my mobile is 7700 900 123", "7700 900 123", "PHONE_NUMBER"),
    ("telegram @zephy_q", "@zephy_q", "CONTACT_HANDLE"),
    ("reach me at zeph dot q at mailbox dot org", "mailbox", "CONTACT_HANDLE"),
    ("passport 533380006", "533380006", "PASSPORT_NUMBER"),
    ("passport no. X1234567", "X1234567", "PASSPORT_NUMBER"),
    ("NI number QQ 12 34 56 C", "12 34 56", "NATIONAL_ID"),
    ("QQ123456C", "QQ123456C", "NATIONAL_ID"),
    ("SSN 078-05-1120", "078-05-1120", "NATIONAL_ID"),
    ("ID card 123456789", "123456789", "NATIONAL_ID"),
    ("PESEL 44051401359", "44051401359", "NATIONAL_ID"),
    ("DNI 12345678Z", "12345678Z", "NATIONAL_ID"),
    ("BSN 123456782", "123456782", "NATIONAL_ID"),
]
SKILLS = [
    "Office 365",
    "ISO 27001",
    "ISO 9001:2015",
    "S/4HANA",
    "Python 3",
    "ITIL v4",
    "C++17",
    "AWS SAA-C03",
    "CompTIA A+ 220-1101",
    "PRINCE2 2017",
    "SAP ERP 6.0",
    "Windows 10",
    "IPv6",
    "10 years of Java",
    "passport renewal 2024 process",
    "phone support 24/7",
    "contact centre KPIs",
]


@pytest.fixture(scope="module")
def guard() -> PIIGuard:
    return get_guard()


def _skills_view(guard: PIIGuard, skills: list[str]) -> dict[str, str]:
    view = guard.view_for_model(make_employee(skills=skills))
    assert view.fields is not None, view.report
    return {key: value for key, value in view.fields.items() if key.startswith("skills.")}


@pytest.mark.parametrize(("text", "value", "entity"), PERSONAL)
def test_the_model_view_of_a_skill_holds_no_contact_or_id_number(
    guard: PIIGuard, text: str, value: str, entity: str
) -> None:
    scrubbed = _skills_view(guard, [text])["skills.0"]
    assert value not in scrubbed
    assert f"<{entity}_1>" in scrubbed


@pytest.mark.parametrize(("text", "value", "entity"), PERSONAL)
def test_the_firewall_refuses_them_as_audit_text(
    guard: PIIGuard, text: str, value: str, entity: str
) -> None:
    with pytest.raises(FirewallRefusalError) as refused:
        guard.firewall.check(
            text,
            identity=RecordIdentity.from_employee(make_employee()),
            channel=Channel.audit_text,
        )
    assert entity in refused.value.refusal.entity_types
    assert value not in str(refused.value)


def test_skills_with_digits_reach_the_model_unchanged(guard: PIIGuard) -> None:
    view = _skills_view(guard, SKILLS)
    assert [view[f"skills.{i}"] for i in range(len(SKILLS))] == SKILLS
    guard.firewall.check(
        SKILLS,
        identity=RecordIdentity.from_employee(make_employee()),
        channel=Channel.audit_text,
    )
