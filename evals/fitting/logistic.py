"""The small logistic fit behind the title and skill confidence calibrations.

The fit keeps its knobs explicit because the two calibrations were fitted with different
ones (and their shipped constants depend on that): titles penalise every coefficient
lightly, skills penalise all but the bias ten times harder on far fewer rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class LogisticSettings:
    """The knobs of one calibration's fit (see the module docstring for why they differ)."""

    ridge: float
    penalise_bias: bool
    iterations: int


def fit_logistic(
    features: npt.NDArray[np.floating], labels: npt.NDArray[np.bool_], settings: LogisticSettings
) -> npt.NDArray[np.float64]:
    """Newton's method with a ridge: a handful of coefficients do not need a library, and a
    few hundred rows need the ridge to keep them finite."""
    x = np.hstack([np.ones((len(features), 1)), features.astype(np.float64)])
    y = labels.astype(np.float64)
    w = np.zeros(x.shape[1])
    penalty = settings.ridge * np.eye(x.shape[1])
    if not settings.penalise_bias:
        penalty[0, 0] = 0.0
    # without a bias penalty the Hessian can be singular; the jitter changes nothing else
    jitter = 0.0 if settings.penalise_bias else 1e-9
    for _ in range(settings.iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) + penalty @ w
        hess = (x * (p * (1 - p))[:, None]).T @ x + penalty + jitter * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def fit_logistic_monotone(
    features: npt.NDArray[np.floating], labels: npt.NDArray[np.bool_], settings: LogisticSettings
) -> npt.NDArray[np.float64]:
    """``fit_logistic`` with no negative coefficient: each feature is evidence for the top
    candidate, so more of it may not lower the confidence. A negative fit is a trade-off
    between correlated features on the fitting catalog that turns absurd on another (a
    five-role catalog's exact label has a margin no ESCO row has, and a negative margin
    coefficient made it abstain). Features that fit negative are dropped one at a time,
    the most negative first, and the rest refitted."""
    active = list(range(features.shape[1]))
    while True:
        coef = fit_logistic(features[:, active], labels, settings)
        worst = int(np.argmin(coef[1:])) if active else -1
        if not active or coef[1 + worst] >= 0:
            full = np.zeros(features.shape[1] + 1)
            full[0] = coef[0]
            full[[1 + a for a in active]] = coef[1:]
            return full
        del active[worst]
