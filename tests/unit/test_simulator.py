"""The simulated HRIS stream: realistic, reproducible, and chaotic in the ways real feeds are."""

from __future__ import annotations

import base64
import json
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook

from agents.policy.planning import wants_active
from agents.provisioning.title_decision import needs_role
from core.catalog import Catalog, GroupKind, load_catalog
from core.data.demo_company import DEPARTMENT_TAG_PREFIX
from core.employee import Employee, EmploymentStatus, EventType, HRISEvent
from tools.hris.simulator import SimulatedStream, simulate_stream, standard_webhook_body
from tools.hris.simulator.free_text import FREE_TEXT_TITLES, INJECTION_TITLE
from tools.hris.simulator.names import ascii_fold
from tools.hris.standard import StandardWebhookSource
from tools.mapping.injection import check_injection
from tools.mapping.rules import RulesMapper

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def stream(catalog: Catalog) -> SimulatedStream:
    return simulate_stream(catalog, start=START)


def first_deliveries(stream: SimulatedStream) -> list[HRISEvent]:
    return [d.event for d in stream.deliveries if d.duplicate_of is None]


def test_hires_at_least_300_people(stream: SimulatedStream) -> None:
    created = [e for e in stream.events if e.type is EventType.created]
    assert len(created) == 320
    assert len({e.employee_external_id for e in created}) == 320
    assert len(stream.final) >= 300


def test_same_seed_same_stream_other_seed_other_stream(
    catalog: Catalog, stream: SimulatedStream
) -> None:
    again = simulate_stream(catalog, start=START)
    other = simulate_stream(catalog, start=START, seed=8)

    def fingerprint(s: SimulatedStream) -> list[tuple[str, int | None]]:
        return [(d.event.model_dump_json(), d.duplicate_of) for d in s.deliveries]

    assert fingerprint(again) == fingerprint(stream)
    assert again.final == stream.final
    assert fingerprint(other) != fingerprint(stream)


def test_duplicates_repeat_the_first_delivery(stream: SimulatedStream) -> None:
    deliveries = stream.deliveries
    duplicates = [(i, d) for i, d in enumerate(deliveries) if d.duplicate_of is not None]
    distinct = len(stream.events)
    assert 0.03 * distinct <= len({d.duplicate_of for _, d in duplicates}) <= 0.08 * distinct
    for i, d in duplicates:
        assert d.duplicate_of is not None
        assert d.duplicate_of < i
        original = deliveries[d.duplicate_of]
        assert original.duplicate_of is None
        assert original.event == d.event
    times = Counter(d.event.event_id for d in deliveries)
    assert set(times.values()) <= {1, 2, 3}
    assert 3 in times.values()


def test_some_deliveries_arrive_out_of_order(stream: SimulatedStream) -> None:
    by_worker: dict[str, list[HRISEvent]] = defaultdict(list)
    for event in first_deliveries(stream):
        by_worker[event.employee_external_id].append(event)
    shuffled = [
        k
        for k, events in by_worker.items()
        if [e.occurred_at for e in events] != sorted(e.occurred_at for e in events)
    ]
    assert len(shuffled) >= 0.02 * len(stream.events)
    terminated_first = [
        k for k, events in by_worker.items() if events[0].type is EventType.terminated
    ]
    assert len(terminated_first) >= 3
    for k in terminated_first:
        assert by_worker[k][1].type is EventType.created


def test_final_is_the_replay_in_occurred_order(stream: SimulatedStream) -> None:
    state: dict[str, Employee] = {}
    for event in sorted(first_deliveries(stream), key=lambda e: e.occurred_at):
        assert event.employee is not None
        state[event.employee_external_id] = event.employee
    assert state == stream.final


def test_each_workers_events_strictly_increase(stream: SimulatedStream) -> None:
    last: dict[str, datetime] = {}
    for event in stream.events:
        previous = last.get(event.employee_external_id)
        assert previous is None or event.occurred_at > previous
        last[event.employee_external_id] = event.occurred_at


def test_events_are_valid_standard_events(stream: SimulatedStream) -> None:
    ids = set()
    for event in stream.events:
        assert HRISEvent.model_validate(event.model_dump()) == event
        assert event.source == "standard"
        assert event.employee is not None
        assert event.employee.external_id == event.employee_external_id
        body = json.loads(json.dumps(standard_webhook_body(event)))
        assert body["type"] == event.type.value
        assert datetime.fromisoformat(body["timestamp"]) == event.occurred_at
        assert Employee.model_validate(body["data"]) == event.employee
        ids.add(event.event_id)
    assert len(ids) == len(stream.events)


def test_lifecycle_events_carry_consistent_snapshots(stream: SimulatedStream) -> None:
    kinds = Counter(e.type for e in stream.events)
    assert 0.05 * 320 <= kinds[EventType.terminated] <= 0.12 * 320
    assert kinds[EventType.rehired] >= 1
    assert kinds[EventType.updated] >= 50
    for event in stream.events:
        employee = event.employee
        assert employee is not None
        if event.type is EventType.terminated:
            assert employee.employment_status is EmploymentStatus.inactive
            assert employee.termination_date == event.occurred_at.date()
            assert "employment_status" in event.changed_fields
        elif event.type is EventType.rehired:
            assert employee.employment_status is EmploymentStatus.active
            assert employee.hire_date == event.occurred_at.date()
            assert employee.termination_date is None
        elif event.type is EventType.updated:
            assert event.changed_fields
    changed = {f for e in stream.events for f in e.changed_fields}
    assert {"title", "job_code", "department", "manager_external_id", "location"} <= changed


def test_emails_are_unique_and_ascii(stream: SimulatedStream) -> None:
    emails = [e.email for e in stream.final.values()]
    assert len(set(emails)) == len(emails)
    assert all(email.isascii() for email in emails)
    names = [f"{e.given_name} {e.family_name}" for e in stream.final.values()]
    assert any(not name.isascii() for name in names)  # diacritics survive in names


def test_ascii_fold() -> None:
    assert ascii_fold("Łukasz") == "lukasz"
    assert ascii_fold("Zięcik-Müller") == "ziecik-muller"
    assert ascii_fold("José Mari") == "jose-mari"
    assert ascii_fold("O'Connor") == "oconnor"
    assert ascii_fold("Strauß") == "strauss"


def test_people_fit_the_catalog(stream: SimulatedStream, catalog: Catalog) -> None:
    roles = {
        code: catalog.by_id[ids[0]]
        for code, ids in catalog.rules.job_codes.items()
        if catalog.by_id[ids[0]].kind is GroupKind.role
    }
    titles_per_code: dict[str, set[str]] = defaultdict(set)
    for employee in stream.final.values():
        assert employee.job_code in roles
        role = roles[employee.job_code]
        assert f"{DEPARTMENT_TAG_PREFIX}{employee.department}" in role.tags
        assert employee.location in catalog.rules.locations
        assert employee.title is not None
        titles_per_code[employee.job_code].add(employee.title)
    assert max(len(t) for t in titles_per_code.values()) >= 3  # free-text titles vary


def test_reporting_lines_form_one_tree(stream: SimulatedStream) -> None:
    final = stream.final
    roots = [e for e in final.values() if e.manager_external_id is None]
    assert len(roots) == 1
    for employee in final.values():
        seen = {employee.external_id}
        manager_id = employee.manager_external_id
        while manager_id is not None:
            assert manager_id in final
            assert manager_id not in seen
            seen.add(manager_id)
            manager_id = final[manager_id].manager_external_id
    managers = {e.manager_external_id for e in final.values()} - {None}
    assert len(managers) >= 8


def test_start_must_be_timezone_aware(catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        simulate_stream(catalog, start=datetime(2026, 1, 5))


def test_webhook_bodies_round_trip_through_standard_intake(stream: SimulatedStream) -> None:
    secret = "whsec_" + base64.b64encode(b"simulator-test-secret-0123456789").decode()
    source = StandardWebhookSource([SecretStr(secret)])
    signer = Webhook(secret)
    samples = [e for e in stream.events if e.changed_fields][:20] + stream.events[:5]
    for event in samples:
        text = json.dumps(standard_webhook_body(event))
        sent_at = datetime.now(UTC)  # delivery time, not occurred_at: replays are re-signed
        headers = {
            "webhook-id": event.event_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signer.sign(event.event_id, sent_at, text),
        }
        assert source.parse(body=text.encode(), headers=headers, now=sent_at) == event


# --- free-text titles: what the catalog rules cannot place ------------------------------------


@pytest.fixture(scope="module")
def free_text_stream(catalog: Catalog) -> SimulatedStream:
    return simulate_stream(catalog, start=START, free_text_titles=6)


def test_free_text_titles_are_off_by_default(stream: SimulatedStream) -> None:
    assert stream.free_text_titles == {}


def test_free_text_titles_leave_the_rest_of_the_stream_as_it_was(
    stream: SimulatedStream, free_text_stream: SimulatedStream
) -> None:
    chosen = free_text_stream.free_text_titles
    assert len(chosen) == 6
    plain, rewritten = stream.deliveries, free_text_stream.deliveries
    assert [d.event.event_id for d in rewritten] == [d.event.event_id for d in plain]
    assert [d.duplicate_of for d in rewritten] == [d.duplicate_of for d in plain]
    for before, after in zip(plain, rewritten, strict=True):
        if after.event.employee_external_id not in chosen:
            assert after == before
            continue
        assert before.event.employee is not None
        assert after.event.employee is not None
        expected = before.event.employee.model_copy(
            update={
                "title": chosen[after.event.employee_external_id].title,
                "job_code": chosen[after.event.employee_external_id].legacy_code,
            }
        )
        assert after.event.employee == expected
        assert after.event.changed_fields == before.event.changed_fields


def test_free_text_titles_keep_the_role_they_were_hired_into(
    stream: SimulatedStream, free_text_stream: SimulatedStream
) -> None:
    for worker, pick in free_text_stream.free_text_titles.items():
        assert stream.final[worker].job_code == pick.job_code
        if not pick.injection:
            assert pick.title in FREE_TEXT_TITLES[pick.job_code]
    titles = [p.title for p in free_text_stream.free_text_titles.values()]
    assert len(set(titles)) == len(titles)


def test_free_text_titles_reach_ai_title_mapping(
    free_text_stream: SimulatedStream, catalog: Catalog
) -> None:
    """What `after_mapping` asks: an active person with a title and no role from the rules."""
    rules = RulesMapper(catalog)
    chosen = free_text_stream.free_text_titles
    for worker in chosen:
        snapshots = [
            e.employee for e in free_text_stream.events if e.employee_external_id == worker
        ]
        for employee in snapshots:
            assert employee is not None
            assert wants_active(employee)
            assert employee.title
            decision = rules.map(employee, manages_others=False)
            assert needs_role(decision)
            assert decision.unresolved[0] in ("title only: no job_code", "job_code not in catalog")
    codes = [p.legacy_code for p in chosen.values()]
    assert None in codes  # both ways a record leaves the rules without a role
    assert any(c is not None and c not in catalog.rules.job_codes for c in codes)


def test_exactly_one_free_text_title_is_a_prompt_injection(
    free_text_stream: SimulatedStream,
) -> None:
    picks = free_text_stream.free_text_titles.values()
    flagged = [p for p in picks if p.injection]
    assert [p.title for p in flagged] == [INJECTION_TITLE]
    assert check_injection(INJECTION_TITLE).suspicious
    assert not any(check_injection(p.title).suspicious for p in picks if not p.injection)


def test_free_text_titles_are_deterministic_by_seed(
    catalog: Catalog, free_text_stream: SimulatedStream
) -> None:
    again = simulate_stream(catalog, start=START, free_text_titles=6)
    other = simulate_stream(catalog, start=START, free_text_titles=6, seed=8)
    assert again.free_text_titles == free_text_stream.free_text_titles
    assert again.deliveries == free_text_stream.deliveries
    assert other.free_text_titles != free_text_stream.free_text_titles


def test_free_text_titles_without_injection_and_beyond_who_fits(catalog: Catalog) -> None:
    small = simulate_stream(
        catalog, employees=30, start=START, free_text_titles=500, injection_attempt=False
    )
    assert 0 < len(small.free_text_titles) < 30
    assert not any(p.injection for p in small.free_text_titles.values())
    with pytest.raises(ValueError, match="negative"):
        simulate_stream(catalog, start=START, free_text_titles=-1)
