"""The catalog's roles as AI mappers see them: ids, labels, descriptions, and what else a
role brings with it.

Only groups of kind ``role`` are candidates. Programmes, leadership tracks and admin-like
groups are never reachable by an AI step, whatever a title asks for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from core.catalog import Catalog, CatalogGroup, GroupKind
from pii.allowlist import AllowedTerms
from vectorstore.roles import CatalogRole


def _label(group: CatalogGroup) -> str:
    return group.display_name.removeprefix("Role: ").strip()


@dataclass(frozen=True)
class RoleDirectory:
    catalog: Catalog
    roles: list[CatalogRole] = field(init=False)
    bundles: dict[str, list[str]] = field(init=False)

    def __post_init__(self) -> None:
        groups = [g for g in self.catalog.groups if g.kind is GroupKind.role]
        roles = [CatalogRole(g.id, _label(g), tuple(g.alt_labels)) for g in groups]
        bundles: dict[str, list[str]] = {g.id: [g.id] for g in groups}
        for ids in self.catalog.rules.job_codes.values():
            for group_id in ids:
                if group_id in bundles:
                    # the curricula the rules attach to this role come with it
                    bundles[group_id] = list(dict.fromkeys([*bundles[group_id], *ids]))
        object.__setattr__(self, "roles", roles)
        object.__setattr__(self, "bundles", bundles)

    @cached_property
    def vocabulary(self) -> AllowedTerms:
        """Every id, name and rule key of the catalog: text of ours the firewall lets pass."""
        catalog = self.catalog
        terms = {*catalog.by_id}
        for group in catalog.groups:
            terms.update([group.display_name, _label(group), *group.alt_labels])
        rules = catalog.rules
        for table in (rules.job_codes, rules.departments, rules.locations, rules.countries):
            terms.update(table)
        return AllowedTerms(terms)

    def __contains__(self, role_id: object) -> bool:
        return role_id in self.bundles

    def label(self, role_id: str) -> str:
        return _label(self.catalog.by_id[role_id])

    def details(self, role_id: str) -> str:
        group = self.catalog.by_id[role_id]
        alt = ", ".join(group.alt_labels[:12]) or "-"
        return (
            f"{role_id} | {_label(group)}\n"
            f"Also known as: {alt}\n"
            f"Description: {group.description or '-'}"
        )
