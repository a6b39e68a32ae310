"""A customer's existing workforce for the LMS sandbox to start from: users and group
memberships that look like what TalentSync would have written, placed by the catalog's own
rules, so a benchmark streaming new hires and moves against them measures the realistic case
(an LMS that already holds everyone), not an empty one.

The people are made up and deterministic: the same ``count`` and ``seed`` give the same
workforce. Their HRIS ids (``PRE-000001``...) cannot collide with the simulator's (``W1``...)
or the test factories', so streamed events always add people on top of the preloaded ones.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate

from core.catalog import Catalog, GroupKind

EXTERNAL_ID_PREFIX = "PRE-"
EMAIL_DOMAIN = "preloaded.example"
MANAGER_EVERY = 8  # one person in eight manages someone
CONTRACTOR_EVERY = 10

_GIVEN = ("Ada", "Ben", "Chen", "Dana", "Emre", "Fatima", "Goran", "Hana", "Ivo", "Jun", "Kofi")
_FAMILY = ("Ahn", "Berg", "Costa", "Dube", "Eze", "Fischer", "Garcia", "Haas", "Iqbal", "Jovic")


@dataclass(frozen=True)
class PreloadedPerson:
    """One person as the LMS holds them: the SCIM user's attributes and the catalog ids of
    the groups they are a member of."""

    external_id: str
    user_name: str
    given_name: str
    family_name: str
    title: str | None
    department: str | None
    user_type: str
    group_ids: tuple[str, ...]

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


def preloaded_external_id(index: int) -> str:
    """The HRIS id of the ``index``-th preloaded person (0-based): ``PRE-000001`` first."""
    return f"{EXTERNAL_ID_PREFIX}{index + 1:06d}"


def workforce(catalog: Catalog, count: int, *, seed: int = 16) -> Iterator[PreloadedPerson]:
    """``count`` people placed by the catalog's rules: everyone-groups for all, one
    department (a few departments are much larger than the rest), one site and its country
    curricula, one role with its curricula, and the managers' groups for one in eight.

    A catalog without rules (tests build small ones) places by group kind instead: every
    ``everyone`` group, and one group of each other kind.
    """
    rng = random.Random(seed)
    placer = _RulePlacer(catalog, rng) if _has_rules(catalog) else _KindPlacer(catalog, rng)
    for index in range(count):
        given = _GIVEN[index % len(_GIVEN)]
        family = f"{_FAMILY[(index // len(_GIVEN)) % len(_FAMILY)]}{index + 1}"
        title, department, group_ids = placer.place(is_manager=index % MANAGER_EVERY == 0)
        yield PreloadedPerson(
            external_id=preloaded_external_id(index),
            user_name=f"{given}.{family}@{EMAIL_DOMAIN}".lower(),
            given_name=given,
            family_name=family,
            title=title,
            department=department,
            user_type="contractor"
            if index % CONTRACTOR_EVERY == CONTRACTOR_EVERY - 1
            else ("employee"),
            group_ids=group_ids,
        )


def _has_rules(catalog: Catalog) -> bool:
    rules = catalog.rules
    return bool(rules.everyone and rules.departments and rules.job_codes)


class _Skewed:
    """Picks among keys with weights 1, 1/2, 1/3...: the first departments and sites hold
    most people (``random.choices`` would re-sum the weights on every call)."""

    def __init__(self, keys: list[str], rng: random.Random) -> None:
        self.keys = keys
        self._bounds = list(accumulate(1 / (rank + 1) for rank in range(len(keys))))
        self._rng = rng

    def pick(self) -> int:
        return bisect(self._bounds, self._rng.random() * self._bounds[-1])


class _RulePlacer:
    def __init__(self, catalog: Catalog, rng: random.Random) -> None:
        rules = catalog.rules
        self._rng = rng
        self._everyone = list(rules.everyone)
        self._departments = _Skewed(list(rules.departments), rng)
        self._locations = _Skewed(list(rules.locations), rng)
        self._countries = list(rules.countries)
        self._job_codes = list(rules.job_codes)
        self._titles = {
            code: next(
                (
                    catalog.by_id[g].display_name.removeprefix("Role: ")
                    for g in ids
                    if catalog.by_id[g].kind == GroupKind.role
                ),
                None,
            )
            for code, ids in rules.job_codes.items()
        }
        self._rules = rules

    def place(self, *, is_manager: bool) -> tuple[str | None, str | None, tuple[str, ...]]:
        rules = self._rules
        department = self._departments.keys[self._departments.pick()]
        job_code = self._rng.choice(self._job_codes)
        ids = [*self._everyone, *rules.departments[department], *rules.job_codes[job_code]]
        if self._locations.keys:
            slot = self._locations.pick()
            ids += rules.locations[self._locations.keys[slot]]
            if self._countries:
                ids += rules.countries[self._countries[slot % len(self._countries)]]
        if is_manager:
            ids += rules.managers
        return self._titles[job_code], department, tuple(dict.fromkeys(ids))


class _KindPlacer:
    def __init__(self, catalog: Catalog, rng: random.Random) -> None:
        self._rng = rng
        self._everyone = [g.id for g in catalog.groups if g.kind == GroupKind.everyone]
        self._by_kind: dict[GroupKind, list[str]] = {}
        for group in catalog.groups:
            if group.kind != GroupKind.everyone:
                self._by_kind.setdefault(group.kind, []).append(group.id)
        self._department_names = {
            g.id: g.display_name for g in catalog.groups if g.kind == GroupKind.department
        }

    def place(self, *, is_manager: bool) -> tuple[str | None, str | None, tuple[str, ...]]:
        ids = list(self._everyone)
        for kind, group_ids in self._by_kind.items():
            if kind == GroupKind.programme and not is_manager:
                continue
            ids.append(self._rng.choice(group_ids))
        department = next(
            (self._department_names[g] for g in ids if g in self._department_names), None
        )
        return None, department, tuple(ids)
