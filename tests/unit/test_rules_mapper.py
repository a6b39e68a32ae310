"""The deterministic mapper: the baseline every AI mapper is compared with."""

from __future__ import annotations

from datetime import date

import pytest

from core.catalog import Catalog, GroupKind, load_catalog
from core.employee import EmploymentStatus
from tests.factories import make_employee
from tools.mapping import Assignment, Mapper, MappingDecision, RulesMapper

HIRED = date(2026, 1, 5)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def mapper(catalog: Catalog) -> RulesMapper:
    return RulesMapper(catalog)


def by_id(decision: MappingDecision) -> dict[str, Assignment]:
    return {a.group_id: a for a in decision.assignments}


def test_is_a_mapper(mapper: RulesMapper) -> None:
    assert isinstance(mapper, Mapper)
    assert mapper.name == "rules"


def test_developer_in_berlin(mapper: RulesMapper, catalog: Catalog) -> None:
    decision = mapper.map(make_employee(hire_date=HIRED), manages_others=False)

    assert decision.group_ids == [
        "everyone",
        "curr-code-of-conduct",
        "curr-infosec-awareness",
        "role-15-1252",
        "curr-secure-coding",
        "dept-engineering",
        "site-berlin",
        "curr-gdpr-essentials",
    ]
    due = {a.group_id: a.due_date for a in decision.assignments}
    assert due["curr-code-of-conduct"] == date(2026, 2, 4)
    assert due["curr-infosec-awareness"] == date(2026, 2, 4)
    assert due["curr-gdpr-essentials"] == date(2026, 2, 4)
    assert due["curr-secure-coding"] == date(2026, 3, 6)
    assert due["role-15-1252"] is None
    rules = {a.group_id: a.rule for a in decision.assignments}
    assert rules["role-15-1252"] == "job_codes[15-1252.00]"
    assert rules["dept-engineering"] == "departments[Engineering]"
    assert rules["site-berlin"] == "locations[Berlin]"
    assert rules["curr-gdpr-essentials"] == "countries[DE]"
    kinds = {a.group_id: a.kind for a in decision.assignments}
    assert kinds["site-berlin"] is GroupKind.location
    assert decision.unresolved == []
    assert decision.confidence == 1.0
    assert decision.mapper == "rules"
    assert decision.catalog_version == catalog.version


def test_us_nurse_gets_hipaa_and_us_anti_harassment(mapper: RulesMapper) -> None:
    nurse = make_employee(
        title="Staff RN",
        job_code="29-1141.00",
        department="Clinical",
        location="New York",
        country="US",
        hire_date=HIRED,
    )
    decision = mapper.map(nurse, manages_others=False)

    ids = decision.group_ids
    assert {"role-29-1141", "dept-clinical", "site-new-york"} <= set(ids)
    assert {"curr-hipaa-privacy", "curr-us-anti-harassment", "curr-bloodborne-pathogens"} <= set(
        ids
    )
    assert "curr-gdpr-essentials" not in ids
    due = {a.group_id: a.due_date for a in decision.assignments}
    assert due["curr-us-anti-harassment"] == date(2026, 4, 5)
    assert due["curr-hipaa-privacy"] == date(2026, 2, 4)


def test_manager_gets_the_people_manager_programme(mapper: RulesMapper) -> None:
    employee = make_employee()
    managing = mapper.map(employee, manages_others=True)
    not_managing = mapper.map(employee, manages_others=False)

    assignment = by_id(managing)["prog-people-manager-essentials"]
    assert assignment.kind is GroupKind.programme
    assert assignment.rule == "managers"
    assert "prog-people-manager-essentials" not in not_managing.group_ids


def test_management_occupation_gets_the_leadership_programme(mapper: RulesMapper) -> None:
    director = make_employee(title="IT Director", job_code="11-3021.00")
    assert "prog-leadership" in mapper.map(director, manages_others=False).group_ids


def test_unknown_job_code_is_unresolved(mapper: RulesMapper) -> None:
    decision = mapper.map(make_employee(job_code="99-9999.00"), manages_others=False)

    assert decision.unresolved == ["job_code not in catalog"]
    assert not [a for a in decision.assignments if a.kind is GroupKind.role]
    assert {"everyone", "dept-engineering", "site-berlin"} <= set(decision.group_ids)


def test_title_without_job_code_is_unresolved(mapper: RulesMapper) -> None:
    decision = mapper.map(make_employee(job_code=None), manages_others=False)
    assert decision.unresolved == ["title only: no job_code"]


def test_bare_soc_code_maps_to_the_base_occupation(mapper: RulesMapper) -> None:
    decision = mapper.map(make_employee(job_code="15-1252"), manages_others=False)
    assert "role-15-1252" in decision.group_ids
    assert decision.unresolved == []


def test_inactive_employee_gets_no_assignments(mapper: RulesMapper) -> None:
    leaver = make_employee(
        employment_status=EmploymentStatus.inactive, termination_date=date(2026, 6, 30)
    )
    decision = mapper.map(leaver, manages_others=True)
    assert decision.assignments == []
    assert decision.group_ids == []


def test_department_and_location_match_case_and_space_insensitively(mapper: RulesMapper) -> None:
    employee = make_employee(
        job_code="43-4051.00", department="  customer   SUPPORT ", location="new york", country="US"
    )
    decision = mapper.map(employee, manages_others=False)

    assert {"dept-customer-support", "curr-pci-dss-awareness", "site-new-york"} <= set(
        decision.group_ids
    )
    rules = {a.group_id: a.rule for a in decision.assignments}
    assert rules["dept-customer-support"] == "departments[Customer Support]"
    assert decision.unresolved == []


def test_unknown_department_and_location_are_unresolved(mapper: RulesMapper) -> None:
    decision = mapper.map(
        make_employee(department="Legal (ask Priya)", location="Paris", country="FR"),
        manages_others=False,
    )
    assert decision.unresolved == ["department not in catalog", "location not in catalog"]
    assert "Priya" not in decision.model_dump_json()  # free text is never quoted back


def test_no_hire_date_means_no_due_date(mapper: RulesMapper) -> None:
    decision = mapper.map(make_employee(hire_date=None), manages_others=False)
    assert all(a.due_date is None for a in decision.assignments)


def test_duplicates_keep_the_first_reason() -> None:
    catalog = Catalog.model_validate(
        {
            "version": "t1",
            "groups": [
                {"id": "everyone", "display_name": "Everyone", "kind": "everyone"},
                {"id": "curr-x", "display_name": "X", "kind": "curriculum", "due_days": 10},
            ],
            "rules": {
                "everyone": ["everyone", "curr-x"],
                "departments": {"Engineering": ["curr-x"]},
                "managers": ["curr-x"],
            },
        }
    )
    decision = RulesMapper(catalog).map(
        make_employee(hire_date=HIRED, location=None), manages_others=True
    )
    assert decision.group_ids == ["everyone", "curr-x"]
    assert decision.assignments[1].rule == "everyone"
    assert decision.assignments[1].due_date == date(2026, 1, 15)
    assert decision.unresolved == ["job_code not in catalog"]
