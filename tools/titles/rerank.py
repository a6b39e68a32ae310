"""The title ranker's second stage: pairwise interactions of the evidence, on the top roles.

The linear fusion scores each component on its own, so it cannot let two kinds of evidence
count for more together than apart (an approved neighbour *and* the role's own label
agreeing), nor discount one given another. A quadratic model over the components (each one
and each product of two) reorders the RERANK_DEPTH best roles of the linear fusion; the rest
keep their linear order below them. It is fitted listwise on the same rows of half A as the
linear weights (``python -m evals.fitting.titles --write-rerankers``). On half B
(n = 7,732) it lifts top-1 0.297 -> 0.305 cold and 0.446 -> 0.460 warm; in three folds of
half A it did as well as a LambdaRank forest (LightGBM) on the same features, with numpy
alone. Only the best RERANK_DEPTH roles are rescored because that is the distribution it was
fitted on: products of components far outside it would extrapolate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

RERANK_DEPTH = 50
BELOW = 20.0
"""How far under the lowest reranked score the other roles start: their softmax mass then
stays under 1e-5 in all, so the confidence reads the reranked roles alone."""

SHIPPED = Path(__file__).with_name("rerankers.json")


@cache
def _pairs(components: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    first, second = np.triu_indices(components)
    return first, second


def interaction_features(comps: FloatArray) -> FloatArray:
    """(components, roles) evidence -> (roles, features): each component, then the product
    of every pair of components (squares included)."""
    x = comps.T.astype(np.float32, copy=False)
    first, second = _pairs(x.shape[1])
    features: FloatArray = np.hstack([x, x[:, first] * x[:, second]])
    return features


@dataclass(frozen=True)
class Reranker:
    """Weights over ``interaction_features``, standardisation folded in (a constant shift
    changes neither the order nor a softmax)."""

    weights: FloatArray

    def scores(self, comps: FloatArray) -> FloatArray:
        """Second-stage score of each role of a (components, roles) block."""
        scored: FloatArray = interaction_features(comps) @ self.weights
        return scored

    def rerank(self, fused: FloatArray, comps: FloatArray) -> FloatArray:
        """Final scores for one title: its RERANK_DEPTH best roles by ``fused`` get their
        second-stage score, every other role its linear score shifted below all of them."""
        if len(fused) == 0:
            return fused
        depth = min(RERANK_DEPTH, len(fused))
        top = np.argpartition(-fused, depth - 1)[:depth]
        second = self.scores(comps[:, top])
        shift = float(second.min()) - BELOW - float(fused[top].min())
        out: FloatArray = (fused + shift).astype(np.float32)
        out[top] = second
        return out


def load_rerankers(path: Path, components: tuple[str, ...]) -> dict[str, Reranker]:
    """Profile name -> reranker, refusing a file fitted on other components."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data["components"]) != components:
        raise ValueError(f"{path}: fitted on components {data['components']}, not {components}")
    if data["depth"] != RERANK_DEPTH:
        raise ValueError(f"{path}: fitted at depth {data['depth']}, not {RERANK_DEPTH}")
    width = len(components) + len(_pairs(len(components))[0])
    rerankers = {}
    for name, weights in data["profiles"].items():
        if len(weights) != width:
            raise ValueError(f"{path}: profile {name} has {len(weights)} weights, not {width}")
        rerankers[name] = Reranker(np.asarray(weights, dtype=np.float32))
    return rerankers


def save_rerankers(path: Path, components: tuple[str, ...], rerankers: dict[str, Reranker]) -> None:
    data = {
        "components": list(components),
        "depth": RERANK_DEPTH,
        "profiles": {
            name: [round(float(w), 6) for w in reranker.weights]
            for name, reranker in sorted(rerankers.items())
        },
    }
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
