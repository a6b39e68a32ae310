"""What the title ranker and the skill normaliser share: a linear fusion of named evidence
components, and a logistic confidence over a few features of the fused scores.

Both score candidates the same way (each component a similarity, a weighted sum of them per
candidate) and judge the top candidate the same way (a small logistic fit of top-1
correctness, abstaining under a threshold); only their components, features and fitted
numbers differ. Each defines its own weights (its components as fields, in order) and
calibration (its own defaults) on these bases, so the arithmetic has one home.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Self

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class FusionWeights:
    """Linear fusion weights: a subclass declares one float field per component, in the
    order the rows of its evidence matrix come in (its COMPONENTS)."""

    def as_array(self) -> FloatArray:
        return np.asarray([getattr(self, f.name) for f in fields(self)], dtype=np.float32)

    @classmethod
    def from_array(cls, values: Sequence[float]) -> Self:
        return cls(**{f.name: float(v) for f, v in zip(fields(cls), values, strict=True)})


@dataclass(frozen=True)
class LogisticCalibration:
    """Logistic P(top-1 correct) over a scorer's confidence features."""

    bias: float
    coefficients: tuple[float, ...]
    abstain_below: float
    """Confidence under which we abstain."""

    def confidence(self, features: npt.NDArray[np.float64]) -> float:
        z = self.bias + float(np.dot(self.coefficients, features))
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))
