"""Skill taxonomy loaders: ESCO preferred labels, enriched with alt labels where we have them.

Why this shape:

- The full ESCO skill list we may use (``skills_en_labels.txt``) has preferred labels only,
  while the ESCO skill *collections* (digital, transversal, language, green) carry URIs and
  alt labels for about 2.3k of those skills. Alt labels are where tool and product names live
  ("Microsoft Office Excel" under "use spreadsheets software"), so we join them in by
  preferred label rather than ignore them.
- Concepts without a collection row get a synthetic id derived from the label, so ids stay
  stable across runs and processes (they key the Chroma index and approved mappings).
- An alt label that is another concept's preferred label is dropped: "cooperate with
  colleagues" is an alt of "work in teams" but also a concept of its own, and a query that
  says exactly that should not be split between the two.
- ESCO disambiguates homonyms with a parenthesis ("Java (computer programming)"); job ads
  never write it, so the bare head is added as an alias unless it names another concept.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vectorstore.roles import CatalogRole

logger = logging.getLogger(__name__)

SYNTHETIC_PREFIX = "urn:talentsync:skill:"
_QUALIFIED = re.compile(r"^(?P<head>.+?)\s*\((?P<qualifier>[^()]+)\)$")


@dataclass(frozen=True)
class SkillConcept:
    concept_id: str
    label: str
    alt_labels: tuple[str, ...] = field(default_factory=tuple)
    description: str = ""

    def as_role(self) -> CatalogRole:
        """The shape the Chroma catalog index stores; one code path for entry order."""
        return CatalogRole(self.concept_id, self.label, self.alt_labels)

    def labels(self) -> Iterator[tuple[str, str]]:
        """(kind, text) pairs, preferred first, alt labels de-duplicated case-insensitively."""
        return self.as_role().labels()


@dataclass(frozen=True)
class CollectionRow:
    concept_id: str
    alt_labels: tuple[str, ...]
    description: str


def synthetic_id(label: str) -> str:
    return SYNTHETIC_PREFIX + hashlib.sha256(label.strip().encode()).hexdigest()[:16]


def read_labels(path: Path) -> list[str]:
    """One preferred label a line; blank lines and exact duplicates are skipped."""
    seen: set[str] = set()
    labels = []
    for line in path.read_text(encoding="utf-8").splitlines():
        label = line.strip()
        if label and label not in seen:
            seen.add(label)
            labels.append(label)
    return labels


def read_collections(paths: Iterable[Path]) -> dict[str, CollectionRow]:
    """ESCO collection CSVs keyed by preferred label; a skill in several collections keeps
    the union of its alt labels (the rows agree on the URI)."""
    rows: dict[str, CollectionRow] = {}
    for path in paths:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                label = row["preferredLabel"].strip()
                alts = tuple(a.strip() for a in row.get("altLabels", "").split(" | ") if a.strip())
                previous = rows.get(label)
                if previous is not None:
                    alts = previous.alt_labels + tuple(
                        a for a in alts if a not in previous.alt_labels
                    )
                rows[label] = CollectionRow(
                    row["conceptUri"].strip(), alts, (row.get("description") or "").strip()
                )
    return rows


def bundled_labels_path() -> Path:
    """ESCO's skill labels and collections, copied into the package (core/data/esco)."""
    return Path(__file__).resolve().parents[2] / "core" / "data" / "esco" / "skills_en_labels.txt"


def default_collection_paths(labels_path: Path) -> list[Path]:
    """The ESCO collections shipped next to the label list, if any."""
    return sorted(labels_path.parent.glob("*SkillsCollection_en.csv"))


def qualified_head(label: str) -> str | None:
    match = _QUALIFIED.match(label)
    return match.group("head").strip() if match else None


def build_taxonomy(
    labels: Sequence[str], collections: dict[str, CollectionRow] | None = None
) -> list[SkillConcept]:
    collections = collections or {}
    preferred = {label.lower() for label in labels}
    concepts = []
    dropped = 0
    for label in labels:
        row = collections.get(label)
        candidates = list(row.alt_labels) if row else []
        head = qualified_head(label)
        if head:
            candidates.append(head)
        aliases = []
        for alias in candidates:
            if alias.lower() in preferred and alias.lower() != label.lower():
                dropped += 1
                continue
            aliases.append(alias)
        concepts.append(
            SkillConcept(
                concept_id=row.concept_id if row else synthetic_id(label),
                label=label,
                alt_labels=tuple(aliases),
                description=row.description if row else "",
            )
        )
    logger.info(
        "skill taxonomy: %d concepts, %d with collection data, %d aliases dropped as "
        "another concept's preferred label",
        len(concepts),
        sum(1 for label in labels if label in collections),
        dropped,
    )
    return concepts


def load_taxonomy(
    labels_path: Path, collection_paths: Sequence[Path] | None = None
) -> list[SkillConcept]:
    """ESCO skills from the label list, enriched from the collection CSVs next to it unless
    other paths (or an empty list, for labels only) are given."""
    paths = default_collection_paths(labels_path) if collection_paths is None else collection_paths
    return build_taxonomy(read_labels(labels_path), read_collections(paths))
