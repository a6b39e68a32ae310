"""The bundled demo catalog is what every demo and default install starts from."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from core.catalog import BUNDLED_CATALOG, Catalog, GroupKind, load_catalog
from core.data import demo_company
from core.data.build_demo_catalog import (
    DEFAULT_ONET_DIR,
    CatalogBuildError,
    build_catalog,
    render,
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_bundled_catalog_loads_with_a_sensible_size(catalog: Catalog) -> None:
    assert catalog.version == "demo-2026.11"
    assert 40 <= len(catalog.groups) <= 80
    kinds = Counter(g.kind for g in catalog.groups)
    assert set(kinds) == set(GroupKind)
    assert kinds[GroupKind.everyone] == 1
    assert kinds[GroupKind.department] == 8
    assert kinds[GroupKind.location] == 6
    assert 25 <= kinds[GroupKind.role] <= 40


def test_every_rule_target_exists(catalog: Catalog) -> None:
    rules = catalog.rules
    targets = [
        *rules.everyone,
        *rules.managers,
        *(g for table in (rules.job_codes, rules.departments, rules.locations, rules.countries)
          for ids in table.values() for g in ids),
    ]  # fmt: skip
    assert targets
    assert all(t in catalog.by_id for t in targets)


def test_role_groups_come_from_onet(catalog: Catalog) -> None:
    roles = [g for g in catalog.groups if g.kind is GroupKind.role]
    for role in roles:
        assert role.source in catalog.rules.job_codes, role.id
        assert catalog.rules.job_codes[role.source][0] == role.id
        assert role.display_name.startswith("Role: ")
        assert role.description
        assert 3 <= len(role.alt_labels) <= 8
    developers = catalog.by_id["role-15-1252"]
    assert developers.display_name == "Role: Software Developers"
    assert developers.source == "15-1252.00"
    assert "Software Engineer" in developers.alt_labels


def test_curricula_have_due_days_and_compliance_is_tagged(catalog: Catalog) -> None:
    curricula = [g for g in catalog.groups if g.kind is GroupKind.curriculum]
    assert all(c.due_days for c in curricula)
    compliance = {c.id for c in curricula if "compliance" in c.tags}
    assert {
        "curr-code-of-conduct",
        "curr-infosec-awareness",
        "curr-gdpr-essentials",
        "curr-us-anti-harassment",
        "curr-hipaa-privacy",
        "curr-anti-bribery-sales",
    } <= compliance
    assert catalog.by_id["curr-us-anti-harassment"].due_days == 90
    assert catalog.rules.everyone == ["everyone", "curr-code-of-conduct", "curr-infosec-awareness"]
    assert "prog-people-manager-essentials" in catalog.rules.managers


def test_attribution_credits_onet(catalog: Catalog) -> None:
    for text in (catalog.attribution, (BUNDLED_CATALOG.parent / "ATTRIBUTION.md").read_text()):
        assert "O*NET 29" in text
        assert "CC BY 4.0" in text
        assert "Employment and Training Administration" in text
        assert "O*NET Resource Center" in text


def test_unknown_group_in_rules_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "version": "t1",
                "groups": [{"id": "everyone", "display_name": "Everyone", "kind": "everyone"}],
                "rules": {"everyone": ["everyone"], "departments": {"Sales": ["dept-salez"]}},
            }
        )
    )
    with pytest.raises(ValidationError, match="dept-salez"):
        load_catalog(bad)


@pytest.mark.skipif(not DEFAULT_ONET_DIR.exists(), reason="O*NET reference data not present")
def test_bundled_catalog_is_what_the_builder_generates() -> None:
    assert render(build_catalog(DEFAULT_ONET_DIR)) == BUNDLED_CATALOG.read_text(encoding="utf-8")


@pytest.mark.skipif(not DEFAULT_ONET_DIR.exists(), reason="O*NET reference data not present")
def test_builder_refuses_titles_onet_does_not_record(monkeypatch: pytest.MonkeyPatch) -> None:
    invented = demo_company.Role("15-1252.00", "Engineering", ("Chief Vibe Coder",))
    monkeypatch.setattr(demo_company, "ROLES", (invented,))
    with pytest.raises(CatalogBuildError, match="Chief Vibe Coder"):
        build_catalog(DEFAULT_ONET_DIR)
