"""Profile skills -> taxonomy concepts: exact labels first (no model), the normaliser for
the rest, abstention when nothing fits, and nothing built until a profile has skills."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from tests.factories import write_skill_taxonomy
from tools.mapping.skill_mapping import SkillMapping, build_skill_mapping, exact_key


@pytest.fixture
def mapping(tmp_path: Path) -> SkillMapping:
    labels = write_skill_taxonomy(tmp_path / "taxonomy")
    built = build_skill_mapping(Settings(var_dir=tmp_path, skills_taxonomy_path=labels))
    assert built is not None
    return built


def test_exact_labels_and_alt_labels_need_no_normaliser(mapping: SkillMapping) -> None:
    got = mapping.map(["Python", "  ms EXCEL ", "work in teams"])

    assert [d.method for d in got] == ["exact", "exact", "exact"]
    assert [d.label for d in got] == [
        "Python (computer programming)",  # the bare head of a qualified label
        "use spreadsheets software",
        "work in teams",
    ]
    assert all(d.confidence == 1.0 for d in got)
    assert got[1].concept_id == "http://data.europa.eu/esco/skill/sheets"
    assert not mapping.normaliser_built


def test_the_rest_goes_to_the_normaliser_which_may_abstain(mapping: SkillMapping) -> None:
    got = mapping.map(["Python 3", "team work", "cooking"])

    assert mapping.normaliser_built
    assert got[0].method == "embedded" and got[0].label == "Python (computer programming)"
    assert 0.0 < got[0].confidence < 1.0 and got[0].candidates
    assert got[1].method == "exact"  # an alt label, whatever order the texts come in
    assert got[2].method == "abstained" and got[2].concept_id is None
    assert got[2].candidates  # still shown to a reviewer


def test_a_label_two_concepts_share_is_not_an_exact_match() -> None:
    from tools.mapping.skill_mapping import _exact_labels
    from tools.skills.taxonomy import SkillConcept

    concepts = [
        SkillConcept("a", "budgeting", ("finance",)),
        SkillConcept("b", "accounting", ("finance",)),
    ]
    exact = _exact_labels(concepts)
    assert exact_key("Finance") not in exact
    assert exact[exact_key("Budgeting")] == 0


def test_switched_off_there_is_no_skill_mapping(tmp_path: Path) -> None:
    assert build_skill_mapping(Settings(var_dir=tmp_path, skill_mapper="off")) is None
