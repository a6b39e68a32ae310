"""Builders for test data; every field has a realistic default and can be overridden."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from core.catalog import Catalog, CatalogGroup, GroupKind
from core.employee import Employee, EventType, HRISEvent
from core.settings import Settings

_ids = itertools.count(1)
NO_REVIEW_POLICY = Path(__file__).parent / "data" / "no_review_policy.yaml"


def make_employee(**overrides: Any) -> Employee:
    n = next(_ids)
    fields: dict[str, Any] = {
        "external_id": f"E{10000 + n}",
        "email": f"worker{n}@example.com",
        "given_name": "Priya",
        "family_name": f"Patel{n}",
        "title": "Software Developer",
        "job_code": "15-1252.00",
        "department": "Engineering",
        "location": "Berlin",
        "country": "DE",
        "hire_date": date(2026, 1, 5),
    }
    fields.update(overrides)
    return Employee.model_validate(fields)


def make_event(employee: Employee | None = None, **overrides: Any) -> HRISEvent:
    employee = employee or make_employee()
    n = next(_ids)
    fields: dict[str, Any] = {
        "event_id": f"evt_{n}",
        "source": "standard",
        "type": EventType.created,
        "occurred_at": datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
        "employee_external_id": employee.external_id,
        "employee": employee,
    }
    fields.update(overrides)
    return HRISEvent.model_validate(fields)


def make_standard_body(**overrides: Any) -> dict[str, Any]:
    """A Standard Webhooks delivery's JSON body: a hire of a new person, unless overridden."""
    body: dict[str, Any] = {
        "type": "employee.created",
        "timestamp": "2026-11-20T08:00:00+00:00",
        "data": make_employee().model_dump(mode="json"),
    }
    body.update(overrides)
    return body


def make_worker_settings(
    *, database_url: str, var_dir: Path, lms_url: str, **overrides: Any
) -> Settings:
    """Settings for a worker under test: a real LMS and database, retries measured in
    milliseconds so outage tests finish quickly."""
    fields: dict[str, Any] = {
        "var_dir": var_dir,
        "database_url": database_url,
        "lms_url": lms_url,
        "lms_max_retries": 2,
        "lms_max_retry_after_s": 1,
        "worker_max_attempts": 3,
        "review_policy_path": NO_REVIEW_POLICY,
        "worker_backoff_base_s": 0.01,
        "worker_backoff_max_s": 0.05,
    }
    fields.update(overrides)
    return Settings(**fields)


TINY_ROLES: dict[str, tuple[str, ...]] = {
    "role-nurse": ("Registered Nurse", "Staff Nurse", "Charge Nurse"),
    "role-swe": ("Software Engineer", "Software Developer", "Programmer"),
    "role-chef": ("Chef", "Cook", "Head Chef"),
    "role-driver": ("Truck Driver", "Lorry Driver"),
}


def make_role_catalog(
    roles: dict[str, tuple[str, ...]] | None = None, *, version: str = "tiny-1"
) -> Catalog:
    """A catalog of role groups only (id -> name, then alt labels): fast to embed and to
    fit an adapter on."""
    groups = [
        CatalogGroup(
            id=group_id,
            display_name=f"Role: {names[0]}",
            kind=GroupKind.role,
            alt_labels=list(names[1:]),
        )
        for group_id, names in (roles or TINY_ROLES).items()
    ]
    return Catalog(version=version, groups=groups)


def write_catalog(path: Path, catalog: Catalog) -> Path:
    path.write_text(yaml.safe_dump(catalog.model_dump(mode="json")), encoding="utf-8")
    return path


def write_skill_taxonomy(directory: Path) -> Path:
    """A five-concept ESCO-shaped taxonomy (labels file + one collection CSV with alt
    labels), small enough that the skill normaliser builds in about a second."""
    directory.mkdir(parents=True, exist_ok=True)
    labels = directory / "skills_en_labels.txt"
    labels.write_text(
        "Python (computer programming)\nuse spreadsheets software\nlead others\n"
        "work in teams\nmanage budgets\n",
        encoding="utf-8",
    )
    (directory / "digitalSkillsCollection_en.csv").write_text(
        "conceptUri,preferredLabel,altLabels,description,skillType\n"
        "http://data.europa.eu/esco/skill/sheets,use spreadsheets software,"
        "MS Excel | Microsoft Excel | spreadsheets,Use spreadsheets.,skill/competence\n"
        "http://data.europa.eu/esco/skill/teams,work in teams,teamwork | team work,"
        "Work with others.,skill/competence\n",
        encoding="utf-8",
    )
    return labels
