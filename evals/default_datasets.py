"""The dataset each suite runs on when ``--dataset`` is not given: the small committed ones
the gate uses, so `talentsync eval run injection` works from a fresh clone.

A suite whose data may not be redistributed (skills: read from ``../shared/data/skills/``)
has none; asking for it names the option and an example path instead of failing deep
inside a loader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DATASETS = Path(__file__).resolve().parent / "datasets"


class DatasetNeededError(ValueError):
    """The suite has no committed dataset and none was given."""


@dataclass(frozen=True)
class DefaultData:
    dataset: Path
    catalog: Path | None = None
    """Only with the default dataset: the committed titles sample needs its own ESCO subset,
    and that subset would be wrong for any other dataset."""


DEFAULTS: dict[str, DefaultData] = {
    "titles": DefaultData(
        DATASETS / "titles" / "jobbert.sample.csv",
        catalog=DATASETS / "titles" / "esco_occupations.sample.csv",
    ),
    "pii": DefaultData(DATASETS / "pii" / "presidio_synth.dev.json"),
    "injection": DefaultData(DATASETS / "injection" / "adversarial_titles.jsonl"),
    "e2e": DefaultData(DATASETS / "e2e" / "stream.small.jsonl"),
    "over-redaction": DefaultData(DATASETS / "over_redaction" / "hr_vocabulary.sample.csv"),
}

EXAMPLES: dict[str, str] = {"skills": "../shared/data/skills/house.dev.csv"}
"""Where a suite without a committed dataset usually finds one (not in this repository)."""


def default_data(suite: str) -> DefaultData:
    try:
        return DEFAULTS[suite]
    except KeyError:
        example = EXAMPLES.get(suite, "PATH")
        raise DatasetNeededError(
            f"the {suite} suite has no committed dataset (its data is not redistributable): "
            f"give --dataset, e.g. --dataset {example}"
        ) from None
