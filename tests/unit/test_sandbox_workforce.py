"""The preloaded workforce and the member index behind the LMS sandbox."""

from __future__ import annotations

from collections import Counter

from core.catalog import Catalog, CatalogGroup, GroupKind, load_catalog
from tools.lms.sandbox_storage import MemberIndex
from tools.lms.sandbox_workforce import (
    EXTERNAL_ID_PREFIX,
    MANAGER_EVERY,
    preloaded_external_id,
    workforce,
)


def test_the_workforce_is_deterministic_and_its_ids_are_its_own() -> None:
    catalog = load_catalog()
    first = list(workforce(catalog, 500))
    assert first == list(workforce(catalog, 500))
    assert first != list(workforce(catalog, 500, seed=1))
    assert [p.external_id for p in first[:2]] == ["PRE-000001", "PRE-000002"]
    assert preloaded_external_id(499) == first[-1].external_id
    assert all(p.external_id.startswith(EXTERNAL_ID_PREFIX) for p in first)
    assert len({p.user_name for p in first}) == 500
    assert len({p.external_id for p in first}) == 500


def test_the_catalog_rules_place_everyone_and_make_some_groups_large() -> None:
    catalog = load_catalog()
    people = list(workforce(catalog, 2000))
    known = {g.id for g in catalog.groups}
    sizes = Counter(g for p in people for g in p.group_ids)

    assert set(sizes) <= known
    for group_id in catalog.rules.everyone:
        assert sizes[group_id] == 2000
    assert all(len(p.group_ids) == len(set(p.group_ids)) for p in people)
    assert all(len(p.group_ids) >= 3 for p in people)
    departments = Counter(p.department for p in people)
    assert departments.most_common(1)[0][1] > 3 * min(departments.values())
    managers = sum(1 for p in people if set(catalog.rules.managers) <= set(p.group_ids))
    assert managers == 2000 // MANAGER_EVERY
    assert all(p.title for p in people)


def test_a_catalog_without_rules_places_by_kind() -> None:
    catalog = Catalog(
        version="t",
        groups=[
            CatalogGroup(id="all-staff", display_name="All staff", kind=GroupKind.everyone),
            CatalogGroup(id="dept-eng", display_name="Engineering", kind=GroupKind.department),
            CatalogGroup(id="dept-ops", display_name="Operations", kind=GroupKind.department),
            CatalogGroup(id="prog-mgr", display_name="Managers", kind=GroupKind.programme),
        ],
    )
    people = list(workforce(catalog, 16))
    assert all(p.group_ids[0] == "all-staff" for p in people)
    assert all(p.department in {"Engineering", "Operations"} for p in people)
    assert sum("prog-mgr" in p.group_ids for p in people) == 2


def test_member_index_keeps_both_directions() -> None:
    index = MemberIndex()
    assert index.add("g1", "u1") is True
    assert index.add("g1", "u1") is False
    index.add("g1", "u2")
    index.add("g2", "u1")
    assert index.groups_of["u1"] == {"g1": None, "g2": None}

    assert index.remove("g1", "u1") is True
    assert index.remove("g1", "u1") is False
    assert list(index.groups_of["u1"]) == ["g2"]

    changed = index.replace("g1", {"u3": None, "u2": ("User", None, None)})
    assert changed == ["u3", "u2"]  # those that left, then those that joined or changed
    assert list(index.members["g1"]) == ["u2", "u3"]

    assert index.drop_member("u1") == ["g2"]
    assert "u1" not in index.groups_of
    assert sorted(index.drop_group("g1")) == ["u2", "u3"]
    assert index.groups_of == {}
