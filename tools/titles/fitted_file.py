"""What the title ranker's and the skill normaliser's fitted-numbers files share
(``tools/titles/profiles.json``, ``tools/skills/profiles.json``): a strict schema, the
provenance each file carries, and a calibration as it was fitted.

Kept beside ``fusion.py`` for the same reason: both scorers calibrate the same way, so the
file format for what was fitted has one home too.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from tools.titles.fusion import LogisticCalibration

CalibrationT = TypeVar("CalibrationT", bound=LogisticCalibration)


class FittedFileModel(BaseModel):
    """Frozen, no unknown keys, no coercion: a file that does not say exactly this is refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Provenance(FittedFileModel):
    """Where the numbers came from, so a refit can be repeated and a stale file recognised."""

    fitted_by: str
    data: str
    method: str
    fitted: str
    refit_when: str


class CalibrationFit(FittedFileModel):
    bias: float
    coefficients: list[float]
    abstain_below: float = Field(ge=0.0, le=1.0)

    def as_calibration(self, kind: type[CalibrationT]) -> CalibrationT:
        return kind(
            bias=self.bias,
            coefficients=tuple(self.coefficients),
            abstain_below=self.abstain_below,
        )
