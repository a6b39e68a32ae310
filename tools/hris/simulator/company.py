"""The demo company read back from the catalog: its roles (job code, titles, department,
whether they lead people) and its sites, so the simulated company and the catalog can never
disagree."""

from __future__ import annotations

from dataclasses import dataclass

from core.catalog import Catalog, GroupKind
from core.data.demo_company import COUNTRY_TAG_PREFIX, DEPARTMENT_TAG_PREFIX, PEOPLE_LEADER_TAG


@dataclass(frozen=True)
class Role:
    job_code: str
    titles: tuple[str, ...]
    department: str | None
    leads_people: bool


@dataclass(frozen=True)
class Site:
    name: str
    country: str | None


@dataclass
class Company:
    roles: list[Role]
    sites: list[Site]

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> Company:
        departments = {k.casefold(): k for k in catalog.rules.departments}
        roles: list[Role] = []
        for code, ids in catalog.rules.job_codes.items():
            groups = [catalog.by_id[i] for i in ids]
            role = next((g for g in groups if g.kind is GroupKind.role), None)
            if role is None:
                continue
            dept_tag = next((t for t in role.tags if t.startswith(DEPARTMENT_TAG_PREFIX)), None)
            department = None
            if dept_tag is not None:
                department = departments.get(
                    dept_tag.removeprefix(DEPARTMENT_TAG_PREFIX).casefold()
                )
            leads = PEOPLE_LEADER_TAG in role.tags or any(
                g.kind is GroupKind.programme and "leadership" in g.tags for g in groups
            )
            titles = tuple(role.alt_labels) or (role.display_name.removeprefix("Role: "),)
            roles.append(Role(code, titles, department, leads))
        if not any(not r.leads_people for r in roles):
            raise ValueError("the catalog maps no job code to a non-leadership role group")
        sites: list[Site] = []
        for name, ids in catalog.rules.locations.items():
            tags = [t for i in ids for t in catalog.by_id[i].tags]
            country = next(
                (
                    t.removeprefix(COUNTRY_TAG_PREFIX)
                    for t in tags
                    if t.startswith(COUNTRY_TAG_PREFIX)
                ),
                None,
            )
            sites.append(Site(name, country))
        return cls(roles, sites or [Site("Remote", None)])

    @property
    def departments(self) -> list[str | None]:
        """Departments that employ individual contributors, in catalog order."""
        return list(dict.fromkeys(r.department for r in self.roles if not r.leads_people))

    def contributor_roles(self, department: str | None) -> list[Role]:
        return [r for r in self.roles if r.department == department and not r.leads_people]

    def leader_roles(self, department: str | None) -> list[Role]:
        own = [r for r in self.roles if r.department == department and r.leads_people]
        return (
            own or [r for r in self.roles if r.leads_people] or self.contributor_roles(department)
        )
