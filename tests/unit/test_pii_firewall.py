"""The firewall is the last check before text leaves a record: it must refuse what the
scrubber missed, and let a properly scrubbed view through."""

from __future__ import annotations

import itertools

import pytest

from core.employee import Employee
from pii.firewall import BLOCKING_ENTITIES, Channel, FirewallRefusalError, PIIFirewall
from pii.guard import PIIGuard, get_guard
from pii.identity import RecordIdentity
from pii.pattern_analyzer import get_pattern_analyzer
from pii.placeholders import PlaceholderMap
from pii.policy import model_view
from tests.factories import make_employee


@pytest.fixture(scope="module")
def guard() -> PIIGuard:
    return get_guard()


@pytest.fixture
def zoe() -> Employee:
    return make_employee(
        external_id="E734211",
        given_name="Zoë",
        family_name="Müller-Lüdenscheidt",
        email="zoe.mueller@acme.example",
        title="Senior Account Executive - EMEA",
    )


def _refusal(guard: PIIGuard, payload: object, employee: Employee) -> FirewallRefusalError:
    with pytest.raises(FirewallRefusalError) as refused:
        guard.firewall.check(
            payload,  # type: ignore[arg-type]
            identity=RecordIdentity.from_employee(employee),
            channel=Channel.model_prompt,
        )
    return refused.value


def test_a_clean_prompt_passes(guard: PIIGuard, zoe: Employee) -> None:
    guard.firewall.check(
        "Map the title 'Senior Account Executive - EMEA' in Sales to a catalog role.",
        identity=RecordIdentity.from_employee(zoe),
        channel=Channel.model_prompt,
    )


@pytest.mark.parametrize(
    "leak",
    [
        "Title: Assistant to ZOË MÜLLER-LÜDENSCHEIDT",
        "Title: Assistant to zoe",
        "owner: zoe.mueller",
        "badge E734211",
    ],
    ids=["all-caps-diacritics", "folded-first-name", "email-local-part", "external-id"],
)
def test_known_values_of_the_record_are_refused(guard: PIIGuard, zoe: Employee, leak: str) -> None:
    refusal = _refusal(guard, leak, zoe).refusal
    assert refusal.entity_types == ("KNOWN_VALUE",)
    assert "zo" not in str(refusal.as_dict()).lower()  # the refusal never repeats the value


def test_high_confidence_pii_of_someone_else_is_refused(guard: PIIGuard, zoe: Employee) -> None:
    refusal = _refusal(guard, {"notes": ["call jane.roe@example.org"]}, zoe).refusal
    assert "EMAIL_ADDRESS" in refusal.entity_types


def test_placeholders_are_not_mistaken_for_personal_data(guard: PIIGuard, zoe: Employee) -> None:
    guard.firewall.check(
        {"title": "Assistant to <PERSON_1>", "location": "<LOCATION_1>"},
        identity=RecordIdentity.from_employee(zoe),
        channel=Channel.vector_metadata,
    )


def test_model_view_is_default_deny_and_scrubbed(guard: PIIGuard, zoe: Employee) -> None:
    tricky = zoe.model_copy(
        update={"title": "EA to Zoë Müller-Lüdenscheidt, call +44 20 7946 0958"}
    )
    identity = RecordIdentity.from_employee(tricky)
    view = model_view(
        tricky, scrubber=guard.scrubber, identity=identity, placeholders=PlaceholderMap()
    )
    assert set(view.fields) <= guard.policy.allowed
    assert not {"email", "given_name", "family_name", "external_id", "hire_date"} & set(view.fields)
    assert "<PERSON_1>" in view.fields["title"]
    assert "7946" not in view.fields["title"]
    assert view.findings.get("PHONE_NUMBER") == 1
    guard.firewall.check(view.fields, identity=identity, channel=Channel.model_prompt)


def test_each_profile_skill_is_scrubbed_and_checked_on_its_own(
    guard: PIIGuard, zoe: Employee
) -> None:
    skilled = zoe.model_copy(
        update={"skills": ["Python 3", "mentored by Zoë Müller-Lüdenscheidt", "call 07946 0958"]}
    )
    got = guard.view_for_model(skilled)

    assert got.fields is not None
    skills = {k: v for k, v in got.fields.items() if k.startswith("skills.")}
    assert skills["skills.0"] == "Python 3"
    assert skills["skills.1"] == "mentored by <PERSON_1>"
    assert "0958" not in skills["skills.2"]
    assert all(guard.policy.is_free_text(key) for key in skills)


def test_the_answer_does_not_depend_on_what_was_checked_before() -> None:
    """The clean-digest cache once changed which strings were scanned side by side; next to
    other words a job code scored as a phone number, so the same payload was refused only
    after some of its strings had been seen."""
    payload = {
        "country": "DE",
        "department": "Engineering",
        "employment_status": "active",
        "job_code": "15-1252.00",
        "location": "Berlin",
        "title": "EA to <PERSON_1>, call <PHONE_NUMBER_1>",
        "worker_type": "employee",
    }
    identity = RecordIdentity(names=("Zoë",), emails=(), ids=())
    analyzer = get_pattern_analyzer(BLOCKING_ENTITIES)
    fresh = PIIFirewall(analyzer)
    fresh.check(payload, identity=identity, channel=Channel.model_prompt)
    strings = [t for pair in payload.items() for t in pair]
    for seen in itertools.combinations(strings, 2):
        firewall = PIIFirewall(analyzer)
        firewall.check(list(seen), identity=identity, channel=Channel.model_prompt)
        firewall.check(payload, identity=identity, channel=Channel.model_prompt)
