"""The role shape both the Chroma index and the in-process ranker consume.

Kept apart from the LMS catalog model on purpose: the matcher only needs an id and the
words a role is known by, so any catalog (LMS roles, ESCO, O*NET) can be adapted to it.
``description`` and ``group`` are optional extra evidence for the ranker (a role's own
words about what it does; a family such as an ISCO unit group whose members share
evidence); catalogs without them rank on labels alone. Neither is part of ``labels()``,
so the persisted label index does not change when they are filled in.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class CatalogRole:
    role_id: str
    label: str
    alt_labels: tuple[str, ...] = field(default_factory=tuple)
    description: str = ""
    group: str = ""
    """Family code (ESCO: the 4-digit ISCO group); empty when the catalog has none."""

    def labels(self) -> Iterator[tuple[str, str]]:
        """(kind, text) pairs; alt labels are first-class search entries, not an afterthought."""
        yield "preferred", self.label
        seen = {self.label.strip().lower()}
        for alt in self.alt_labels:
            key = alt.strip().lower()
            if key and key not in seen:
                seen.add(key)
                yield "alt", alt.strip()


def load_esco_occupations(path: Path) -> list[CatalogRole]:
    """ESCO's occupations CSV: altLabels are newline-separated inside one cell."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            CatalogRole(
                role_id=row["conceptUri"],
                label=row["preferredLabel"].strip(),
                alt_labels=tuple(a.strip() for a in row["altLabels"].splitlines() if a.strip()),
                description=" ".join((row.get("description") or "").split()),
                group=(row.get("iscoGroup") or "").strip(),
            )
            for row in csv.DictReader(handle)
        ]
