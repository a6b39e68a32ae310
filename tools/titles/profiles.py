"""The title ranker's shipped profiles: fusion weights, reranker and calibration fitted
together, and which one applies when.

The fitted numbers live in data files beside this module, not in code: the weights and
calibrations in ``profiles.json`` (with their provenance: the command, the data, the date),
the rerankers in ``rerankers.json``. Both are read and checked at import, against the
components and confidence features they were fitted on, so a file fitted on something else
fails loudly at start-up instead of scoring quietly wrong.

Fitted by ``python -m evals.fitting.titles`` (seed 20260101) on half A of the JobBERT dev file,
never on half B, which the eval reports on: cold on 3,000 rows of A against catalog labels
only; warm on 3,000 rows of A2 with A1 (3,865 rows) as the approved memory. Weights
maximise the softmax likelihood of the gold role over all 2,942 ESCO roles, then a short
coordinate ascent on MRR; each profile's reranker (tools/titles/rerankers.json) is fitted
next on the same rows, then the calibration: a logistic fit of top-1 correctness on the
reranked scores with no negative coefficient, and abstain_below the lowest confidence whose
accepted fit rows reach precision 0.8. Refitted 2026-12-04 with the rerankers (the warm
weights moved, the cold ones did not). Negative
weights are real fits, not typos: given the other components, a shared head noun or a big
synonym list slightly over-credits a role. label_words fitted to 0 once the n-gram weight
rose: it is kept computed as evidence. Which profile applies depends on whether any
approved mappings are loaded and whether an adapter is set (``shipped_profile``), unless the
caller passes its own.

The adapted profiles are the same fits with ``adapted_embedding`` free (the same run's "cold
fit with adapter" and "warm fit with adapter"): cold with the adapter learnt from the ESCO
labels alone, warm with the one learnt from A1 (the memory the warm weights are fitted
against). The adapted cosine takes over from the raw label cosine (cold: label_embedding
fits to 0), so these weights must not run without an adapter, nor the plain ones with one.
On half B: cold MRR 0.406 -> 0.415, warm 0.576 -> 0.583.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import model_validator

from tools.titles.components import COMPONENTS, RankerWeights
from tools.titles.confidence import CONFIDENCE_FEATURES, Calibration
from tools.titles.fitted_file import CalibrationFit, FittedFileModel, Provenance
from tools.titles.rerank import SHIPPED as SHIPPED_RERANKERS
from tools.titles.rerank import Reranker, load_rerankers

SHIPPED = Path(__file__).with_name("profiles.json")
PROFILE_NAMES = ("cold", "warm", "cold_adapted", "warm_adapted")


@dataclass(frozen=True)
class RankerProfile:
    """Fusion weights, the reranker fitted on their top roles and the calibration fitted on
    the final scores: each reads the output of the one before, so they never travel apart."""

    weights: RankerWeights
    calibration: Calibration
    reranker: Reranker | None = None


class RankerCalibrationFit(CalibrationFit):
    @model_validator(mode="after")
    def _one_coefficient_per_feature(self) -> RankerCalibrationFit:
        if len(self.coefficients) != len(CONFIDENCE_FEATURES):
            raise ValueError(
                f"{len(self.coefficients)} coefficients for {len(CONFIDENCE_FEATURES)} "
                "confidence features"
            )
        return self


class ProfileFit(FittedFileModel):
    fitted_on: str
    """Which rows, memory and adapter this profile was fitted with."""
    weights: dict[str, float]
    calibration: RankerCalibrationFit

    @model_validator(mode="after")
    def _one_weight_per_component(self) -> ProfileFit:
        if tuple(self.weights) != COMPONENTS:
            raise ValueError(f"weights for {list(self.weights)}, not {list(COMPONENTS)}")
        return self


class ProfilesFile(FittedFileModel):
    """``profiles.json``: the fitted weights and calibrations of every shipped profile."""

    provenance: Provenance
    components: list[str]
    confidence_features: list[str]
    profiles: dict[str, ProfileFit]

    @model_validator(mode="after")
    def _fitted_on_these(self) -> ProfilesFile:
        if tuple(self.components) != COMPONENTS:
            raise ValueError(f"fitted on components {list(self.components)}, not {COMPONENTS}")
        if tuple(self.confidence_features) != CONFIDENCE_FEATURES:
            raise ValueError(
                f"fitted on confidence features {list(self.confidence_features)}, "
                f"not {CONFIDENCE_FEATURES}"
            )
        if tuple(sorted(self.profiles)) != tuple(sorted(PROFILE_NAMES)):
            raise ValueError(f"profiles {sorted(self.profiles)}, not {sorted(PROFILE_NAMES)}")
        return self


def load_profiles(
    path: Path = SHIPPED, rerankers: Path = SHIPPED_RERANKERS
) -> dict[str, RankerProfile]:
    """Profile name -> profile, each with the reranker fitted for it; refuses files fitted
    on other components or features. Read with ``json`` (correctly rounded), then
    validated as Python objects, so every number is the float its literal denotes."""
    raw: Any = json.loads(path.read_text(encoding="utf-8"))
    try:
        fitted = ProfilesFile.model_validate(raw)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error
    second_stage = load_rerankers(rerankers, COMPONENTS)
    return {
        name: RankerProfile(
            RankerWeights(**fit.weights),
            fit.calibration.as_calibration(Calibration),
            second_stage[name],
        )
        for name, fit in fitted.profiles.items()
    }


_SHIPPED_PROFILES = load_profiles()
COLD = _SHIPPED_PROFILES["cold"]
WARM = _SHIPPED_PROFILES["warm"]
COLD_ADAPTED = _SHIPPED_PROFILES["cold_adapted"]
WARM_ADAPTED = _SHIPPED_PROFILES["warm_adapted"]


WARM_MIN_APPROVALS_PER_ROLE = 0.015
"""Without an adapter, the warm profile only pays once the memory can answer for some
titles: its weights lean on memory evidence and less on labels. Measured on 1,500 queries of
half A against ESCO (2,942 roles; memory = other rows of half A; the cold profile was fitted
on these very rows, so the comparison favours it), MRR cold vs warm profile, both with their
rerankers: 10 approvals 0.406 vs 0.373, 25 0.406 vs 0.409 (top-1 0.309 vs 0.302), 50 0.406
vs 0.427, 150 0.406 vs 0.444, 400 0.406 vs 0.475. The switch is per role (0.015 x 2,942 =
45) because what matters is how likely a title has an approved neighbour. With an adapter
the warm adapted profile won from the first approvals (25: 0.434 vs 0.424, measured before
the rerankers), so it switches at once."""


def is_warm(*, approvals: int, roles: int, adapted: bool) -> bool:
    if adapted:
        return approvals > 0
    return approvals > 0 and approvals >= WARM_MIN_APPROVALS_PER_ROLE * roles


def shipped_profile(*, warm: bool, adapted: bool) -> RankerProfile:
    """The profile fitted with exactly these components live: approved memory loaded
    (``warm``) and an adapter set (``adapted``). Weights fitted without the adapter give its
    component 0 weight, and weights fitted with it lean less on the others, so neither
    profile is right for the other case.

    Either kind of adapter gets the adapted profile, although the warm one was fitted with
    a memory adapter: a catalog adapter next to a small memory (the state before
    ``titles fit-adapter --from auto`` switches to memory) still beats no adapter under it
    (2,000 queries of half B, MRR 0.415 vs 0.385 with 50 approvals, 0.448 vs 0.424 with 200,
    0.475 vs 0.470 with 800), and only falls behind well past that switch (0.512 vs 0.530
    with 3,865)."""
    if adapted:
        return WARM_ADAPTED if warm else COLD_ADAPTED
    return WARM if warm else COLD
