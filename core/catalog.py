"""The customer's LMS catalog: groups (roles, departments, sites, programmes) and curricula,
plus the deterministic assignment rules that map HR attributes onto them.

Curricula are provisioned as LMS groups too (LMSs such as Docebo and Cornerstone enrol a
group into a curriculum), so the SCIM connector only ever manages users and groups; the due
date of a compliance curriculum is computed here and carried in the plan and the record.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

BUNDLED_CATALOG = Path(__file__).parent / "data" / "demo_catalog.yaml"


class GroupKind(StrEnum):
    everyone = "everyone"
    role = "role"
    department = "department"
    location = "location"
    programme = "programme"  # e.g. people-manager or leadership tracks
    curriculum = "curriculum"


class CatalogGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,80}$", description="Stable LMS externalId.")
    display_name: str
    kind: GroupKind
    description: str = ""
    alt_labels: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list, description="e.g. leadership, compliance.")
    source: str | None = Field(None, description="Where the entry comes from, e.g. O*NET code.")
    due_days: int | None = Field(
        None, ge=1, description="Curricula: days after hire (or assignment) until due."
    )


class AssignmentRules(BaseModel):
    """Deterministic rules: attribute value -> catalog group ids."""

    model_config = ConfigDict(extra="forbid")

    everyone: list[str] = Field(default_factory=list)
    job_codes: dict[str, list[str]] = Field(default_factory=dict)
    departments: dict[str, list[str]] = Field(default_factory=dict)
    locations: dict[str, list[str]] = Field(default_factory=dict)
    countries: dict[str, list[str]] = Field(default_factory=dict)
    managers: list[str] = Field(
        default_factory=list, description="Groups for anyone who manages at least one person."
    )


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    attribution: str = ""
    groups: list[CatalogGroup]
    rules: AssignmentRules = Field(default_factory=AssignmentRules)

    @model_validator(mode="after")
    def _rules_name_known_groups(self) -> Catalog:
        known = {g.id for g in self.groups}
        if len(known) != len(self.groups):
            raise ValueError("catalog group ids must be unique")
        referenced = [
            *self.rules.everyone,
            *self.rules.managers,
            *(g for ids in self.rules.job_codes.values() for g in ids),
            *(g for ids in self.rules.departments.values() for g in ids),
            *(g for ids in self.rules.locations.values() for g in ids),
            *(g for ids in self.rules.countries.values() for g in ids),
        ]
        unknown = sorted(set(referenced) - known)
        if unknown:
            raise ValueError(f"rules reference unknown group ids: {', '.join(unknown)}")
        return self

    @cached_property
    def by_id(self) -> dict[str, CatalogGroup]:
        return {g.id: g for g in self.groups}

    @cached_property
    def content_hash(self) -> str:
        """Changes whenever anything in the catalog changes; goes into provenance."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]


def load_catalog(path: Path | None = None) -> Catalog:
    """Load and validate a catalog file; errors name the offending entry."""
    source = path or BUNDLED_CATALOG
    with source.open(encoding="utf-8") as fh:
        return Catalog.model_validate(yaml.safe_load(fh))
