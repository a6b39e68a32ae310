"""The skill normaliser's shipped profiles: fusion weights and the calibration fitted with
them, one for mentions given with their sentence and one for bare skill strings.

The fitted numbers live in ``profiles.json`` beside this module, with their provenance (the
command, the data, the date), and are checked at import against the components and
confidence features they were fitted on: a file fitted on something else fails at start-up
instead of scoring quietly wrong.

Fitted by ``python -m evals.fitting.skills`` (seed 20260101) on half A of the skill-extraction
dev files: CONTEXT for mentions given with their sentence, ALONE for bare skill strings
(an HRIS profile's "ms excel"). Which one applies is decided per mention, so a confidence
always means what it was calibrated to mean.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import model_validator

from tools.titles.fitted_file import CalibrationFit, FittedFileModel, Provenance
from tools.titles.fusion import FusionWeights, LogisticCalibration

SHIPPED = Path(__file__).with_name("profiles.json")

COMPONENTS: tuple[str, ...] = ("embedding", "embedding_raw", "lexical", "context")
"""embedding: normalised mention; embedding_raw: cleaned mention as written; lexical:
char n-gram tf-idf of the normalised mention; context: the surrounding sentence."""


@dataclass(frozen=True)
class NormaliserWeights(FusionWeights):
    """Linear fusion weights per component (see COMPONENTS), fields in COMPONENTS order."""

    embedding: float = 1.0
    embedding_raw: float = 0.5
    lexical: float = 0.3
    context: float = 0.1


CONFIDENCE_FEATURES: tuple[str, ...] = ("top", "margin", "top_lexical", "top_embedding", "words")
"""A fused score alone misjudges correctness: a near-exact lexical hit is right far more
often than an equally-scored blend of fuzzy evidence, and how long a span is changes how
much a given score means. ``top`` is a weighted sum of the others, so the fitted
coefficients are not individually interpretable (signs can flip); only the sum is."""


@dataclass(frozen=True)
class Calibration(LogisticCalibration):
    """Logistic P(top-1 correct) over CONFIDENCE_FEATURES; fitted by ``evals.fitting.skills``."""

    bias: float = -3.0
    coefficients: tuple[float, ...] = (2.0, 4.0, 1.0, 1.0, -0.5)
    abstain_below: float = 0.5


@dataclass(frozen=True)
class Profile:
    """Weights and calibration that were fitted together; one is meaningless without the
    other (the calibration reads the fused score the weights produce)."""

    weights: NormaliserWeights
    calibration: Calibration


class ProfileFit(FittedFileModel):
    weights: dict[str, float]
    calibration: CalibrationFit


class ShippedProfiles(FittedFileModel):
    provenance: Provenance
    components: list[str]
    confidence_features: list[str]
    profiles: dict[str, ProfileFit]

    @model_validator(mode="after")
    def _fitted_on_these_features(self) -> ShippedProfiles:
        if tuple(self.components) != COMPONENTS:
            raise ValueError(f"fitted on components {self.components}, not {list(COMPONENTS)}")
        if tuple(self.confidence_features) != CONFIDENCE_FEATURES:
            raise ValueError(f"fitted on features {self.confidence_features}")
        if set(self.profiles) != {"context", "alone"}:
            raise ValueError(f"profiles must be context and alone, not {sorted(self.profiles)}")
        for name, fit in self.profiles.items():
            if list(fit.weights) != list(COMPONENTS):
                raise ValueError(f"{name}: weights for {list(fit.weights)}")
            if len(fit.calibration.coefficients) != len(CONFIDENCE_FEATURES):
                raise ValueError(f"{name}: one coefficient per confidence feature")
        return self


def load_profiles(path: Path = SHIPPED) -> dict[str, Profile]:
    shipped = ShippedProfiles.model_validate(json.loads(path.read_text(encoding="utf-8")))
    return {
        name: Profile(
            NormaliserWeights(**fit.weights),
            fit.calibration.as_calibration(Calibration),
        )
        for name, fit in shipped.profiles.items()
    }


_SHIPPED = load_profiles()
CONTEXT_PROFILE = _SHIPPED["context"]
"""For a mention given with the sentence it came from (a job ad)."""
ALONE_PROFILE = _SHIPPED["alone"]
"""For a bare skill string (an HRIS profile's "ms excel")."""
