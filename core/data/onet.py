"""Readers for the O*NET database text files the demo catalog is built from.

O*NET ships tab-separated files with a header row; reading them with ``csv`` (no quoting)
keeps descriptions that contain quotes or commas intact.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

OCCUPATIONS_FILE = "occupation_data.txt"
ALTERNATE_TITLES_FILE = "alternate_titles.txt"
REPORTED_TITLES_FILE = "sample_of_reported_titles.txt"


@dataclass(frozen=True)
class Occupation:
    code: str  # O*NET-SOC code, e.g. "15-1252.00"
    title: str
    description: str


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def read_occupations(onet_dir: Path) -> dict[str, Occupation]:
    return {
        row["O*NET-SOC Code"]: Occupation(
            code=row["O*NET-SOC Code"],
            title=row["Title"].strip(),
            description=row["Description"].strip(),
        )
        for row in _rows(onet_dir / OCCUPATIONS_FILE)
    }


def read_known_titles(onet_dir: Path) -> dict[str, set[str]]:
    """Every title O*NET records for an occupation: alternate titles and reported titles.

    Both are real job titles; the builder only accepts a curated title found here, so the
    catalog's labels stay traceable to the source rather than invented.
    """
    titles: dict[str, set[str]] = defaultdict(set)
    for row in _rows(onet_dir / ALTERNATE_TITLES_FILE):
        titles[row["O*NET-SOC Code"]].add(row["Alternate Title"].strip())
    reported = onet_dir / REPORTED_TITLES_FILE
    if reported.exists():
        for row in _rows(reported):
            titles[row["O*NET-SOC Code"]].add(row["Reported Job Title"].strip())
    return dict(titles)
