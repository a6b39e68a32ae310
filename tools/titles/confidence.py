"""How sure the title ranker is of its top role: features of the final scores, and the
logistic calibration that turns them into P(top-1 correct)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tools.titles.components import COMPONENT_INDEX, MEMORY_COMPONENTS
from tools.titles.fusion import LogisticCalibration

FloatArray = npt.NDArray[np.float32]

CONFIDENCE_FEATURES: tuple[str, ...] = (
    "top_probability",
    "margin",
    "top_label_lexical",
    "top_memory",
)
"""The fused score alone is a poor judge of correctness: a near-exact label or approved-title
match (lexical ~1) is right far more often than an equally-scored blend of fuzzy evidence.
top_probability is the softmax of the final scores over all roles (the fusion and the
reranker are both fitted as softmaxes, so their scores are logits; roles outside the
reranked ones sit too far below to carry mass); margin is top minus runner-up."""


def confidence_features(scores: FloatArray, comps: FloatArray) -> npt.NDArray[np.float64]:
    """``scores``: (roles,) final scores (``TitleRanker.final_scores``); ``comps``:
    (components, roles)."""
    if len(scores) == 0:
        return np.zeros(len(CONFIDENCE_FEATURES), dtype=np.float64)
    shifted = scores.astype(np.float64) - float(scores.max())
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum()
    if len(scores) > 1:
        top_two = np.argpartition(-scores, 1)[:2]
        first, second = sorted(top_two.tolist(), key=lambda r: -float(scores[r]))
        margin = float(scores[first]) - float(scores[second])
    else:
        first, margin = 0, float(scores[0])
    memory = max(float(comps[COMPONENT_INDEX[name], first]) for name in MEMORY_COMPONENTS)
    lexical = float(comps[COMPONENT_INDEX["label_lexical"], first])
    return np.asarray(
        [float(probabilities[first]), margin, lexical, memory],
        dtype=np.float64,
    )


@dataclass(frozen=True)
class Calibration(LogisticCalibration):
    """Logistic P(top-1 correct) over CONFIDENCE_FEATURES; fitted by ``evals.fitting.titles``."""

    bias: float = -3.0
    coefficients: tuple[float, ...] = (3.0, 0.5, 2.0, 1.0)
    abstain_below: float = 0.75
    """Confidence under which we abstain; chosen where top-1 precision reaches the target."""
