"""The deterministic mapper: the catalog's own assignment rules, applied literally.

It is the baseline every AI mapper is measured against and the fallback when no model is
configured, so it never guesses: an attribute it cannot match is reported in ``unresolved``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from core.catalog import Catalog
from core.employee import Employee, EmploymentStatus
from tools.mapping.base import Assignment, MappingDecision

_BARE_SOC = re.compile(r"^\d{2}-\d{4}$")


def _fold(value: str) -> str:
    """HRIS exports disagree on case and spacing ('customer  support'); LMS groups do not."""
    return " ".join(value.split()).casefold()


def _folded(rules: Mapping[str, list[str]]) -> dict[str, tuple[str, list[str]]]:
    return {_fold(key): (key, ids) for key, ids in rules.items()}


def catalog_assignment(
    catalog: Catalog,
    group_id: str,
    *,
    rule: str,
    reason: str,
    hire_date: date | None,
    confidence: float = 1.0,
    evidence: list[str] | None = None,
) -> Assignment:
    """One assignment to a catalog group, with the curriculum due date worked out."""
    group = catalog.by_id[group_id]
    due = None
    if group.due_days is not None and hire_date is not None:
        due = hire_date + timedelta(days=group.due_days)
    return Assignment(
        group_id=group_id,
        kind=group.kind,
        reason=reason,
        rule=rule,
        due_date=due,
        confidence=confidence,
        evidence=evidence or [],
    )


class _Collector:
    """Accumulates assignments in rule order; the first rule to name a group explains it."""

    def __init__(self, catalog: Catalog, hire_date: date | None) -> None:
        self._catalog = catalog
        self._hire_date = hire_date
        self.assignments: list[Assignment] = []
        self._seen: set[str] = set()

    def add(self, group_ids: Iterable[str], *, rule: str, trigger: str) -> None:
        for group_id in group_ids:
            if group_id in self._seen:
                continue
            self._seen.add(group_id)
            self.assignments.append(
                catalog_assignment(
                    self._catalog,
                    group_id,
                    rule=rule,
                    reason=f"{trigger}: {self._catalog.by_id[group_id].display_name}",
                    hire_date=self._hire_date,
                )
            )


class RulesMapper:
    """Maps a worker with the catalog's rules; confidence is always 1.0 for what it places."""

    name = "rules"

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._departments = _folded(catalog.rules.departments)
        self._locations = _folded(catalog.rules.locations)

    def map(self, employee: Employee, *, manages_others: bool) -> MappingDecision:
        if employee.employment_status is EmploymentStatus.inactive:
            # Deprovisioned: the planner removes every managed group.
            return self._decision([], [])
        rules = self._catalog.rules
        found = _Collector(self._catalog, employee.hire_date)
        unresolved: list[str] = []

        found.add(rules.everyone, rule="everyone", trigger="every active worker")

        if employee.job_code:
            key = self._job_code_key(employee.job_code)
            if key is None:
                # values stay out: free text from the HRIS can hold anything, and this is logged
                unresolved.append("job_code not in catalog")
            else:
                found.add(rules.job_codes[key], rule=f"job_codes[{key}]", trigger=f"job code {key}")
        elif employee.title:
            unresolved.append("title only: no job_code")
        else:
            unresolved.append("no job_code or title")

        for attribute, value, table in (
            ("department", employee.department, self._departments),
            ("location", employee.location, self._locations),
        ):
            if not value:
                continue
            match = table.get(_fold(value))
            if match is None:
                unresolved.append(f"{attribute} not in catalog")
                continue
            key, ids = match
            found.add(ids, rule=f"{attribute}s[{key}]", trigger=f"{attribute} {key}")

        # Most countries carry no country-specific curricula, so no match is not a gap.
        if employee.country and employee.country in rules.countries:
            found.add(
                rules.countries[employee.country],
                rule=f"countries[{employee.country}]",
                trigger=f"country {employee.country}",
            )

        if manages_others:
            found.add(rules.managers, rule="managers", trigger="manages at least one person")

        return self._decision(found.assignments, unresolved)

    def _job_code_key(self, job_code: str) -> str | None:
        """Exact O*NET-SOC code, or a bare SOC code ('15-1252') for its base occupation."""
        codes = self._catalog.rules.job_codes
        code = job_code.strip()
        if code in codes:
            return code
        if _BARE_SOC.match(code) and f"{code}.00" in codes:
            return f"{code}.00"
        return None

    def _decision(self, assignments: list[Assignment], unresolved: list[str]) -> MappingDecision:
        return MappingDecision(
            mapper=self.name,
            catalog_version=self._catalog.version,
            assignments=assignments,
            unresolved=unresolved,
            confidence=1.0,
        )
