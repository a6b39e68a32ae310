"""Fitting the skill normaliser's shipped profiles (fusion weights and confidence
calibration) and scoring a profile on encoded rows.

The protocol (which rows fit, which are reported) is in `evals.fitting.skills`, which calls
these.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from evals.fitting.logistic import LogisticSettings, fit_logistic
from evals.metrics import metrics_from_ranks
from evals.skill_examples import Example
from tools.skills.normaliser import EncodedMention, SkillNormaliser, confidence_features
from tools.skills.profiles import Calibration, NormaliserWeights, Profile

logger = logging.getLogger(__name__)

ABSTAIN_BELOW = 0.5
SWEEP: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5, 0.6)
START = NormaliserWeights(embedding=1.0, embedding_raw=0.5, lexical=0.3, context=0.1)
"""Where coordinate ascent starts; fixed here so a fit never depends on the shipped values."""
STEPS: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0)
CALIBRATION_FIT = LogisticSettings(ridge=1e-2, penalise_bias=False, iterations=100)

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Scores:
    n: int
    n_labelled: int
    top1: float
    recall5: float
    mrr: float
    abstained: int | None = None
    abstained_correctly: int | None = None
    no_label: int | None = None
    answered: int | None = None
    answered_correct: int | None = None

    @property
    def abstain_precision(self) -> float | None:
        if self.abstained is None or self.abstained_correctly is None:
            return None
        return self.abstained_correctly / self.abstained if self.abstained else float("nan")

    @property
    def abstain_recall(self) -> float | None:
        if self.no_label is None or self.abstained_correctly is None:
            return None
        return self.abstained_correctly / self.no_label if self.no_label else float("nan")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["abstain_precision"] = self.abstain_precision
        out["abstain_recall"] = self.abstain_recall
        return out


def split_by_sentence(
    examples: Sequence[Example], seed: int
) -> tuple[list[Example], list[Example]]:
    sentences = sorted({e.sentence for e in examples})
    order = np.random.default_rng(seed).permutation(len(sentences))
    half_a = {sentences[i] for i in order[: len(order) // 2]}
    return [e for e in examples if e.sentence in half_a], [
        e for e in examples if e.sentence not in half_a
    ]


@dataclass
class Encoded:
    """Per example: component scores over all concepts, the gold concept (-1: no label)."""

    examples: list[Example]
    mentions: list[EncodedMention]
    comps: list[FloatArray]
    gold: list[int]

    def subset(self, rows: Sequence[Example]) -> Encoded:
        keep = {id(e) for e in rows}
        picks = [i for i, e in enumerate(self.examples) if id(e) in keep]
        return Encoded(
            [self.examples[i] for i in picks],
            [self.mentions[i] for i in picks],
            [self.comps[i] for i in picks],
            [self.gold[i] for i in picks],
        )

    def __add__(self, other: Encoded) -> Encoded:
        return Encoded(
            self.examples + other.examples,
            self.mentions + other.mentions,
            self.comps + other.comps,
            self.gold + other.gold,
        )


def encode(
    normaliser: SkillNormaliser, examples: Sequence[Example], *, with_context: bool
) -> Encoded:
    index = {c.label: i for i, c in enumerate(normaliser.concepts)}
    contexts = [e.sentence for e in examples] if with_context else None
    mentions = normaliser.encode([e.mention for e in examples], contexts)
    comps = []
    for start in range(0, len(mentions), 64):
        comps += [c for c, _ in normaliser.components_many(mentions[start : start + 64])]
    gold = []
    for example in examples:
        if not example.has_label:
            gold.append(-1)
        elif example.label in index:
            gold.append(index[example.label])
        else:
            raise ValueError(f"gold label {example.label!r} is not in the taxonomy")
    return Encoded(list(examples), mentions, comps, gold)


def ranks_and_features(
    data: Encoded, weights: FloatArray
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Rank of the gold concept (0 for no-label rows) and confidence features per row."""
    ranks = np.zeros(len(data.gold), dtype=np.int64)
    features = np.zeros((len(data.gold), 5), dtype=np.float64)
    for i, (comps, gold, mention) in enumerate(
        zip(data.comps, data.gold, data.mentions, strict=True)
    ):
        fused = weights @ comps
        if gold >= 0:
            ranks[i] = int(np.sum(fused > fused[gold])) + 1
        features[i] = confidence_features(fused, comps, mention.words)
    return ranks, features


def mean_mrr(data: Encoded, weights: FloatArray) -> float:
    total, n = 0.0, 0
    for comps, gold in zip(data.comps, data.gold, strict=True):
        if gold < 0:
            continue
        fused = weights @ comps
        total += 1.0 / (int(np.sum(fused > fused[gold])) + 1)
        n += 1
    return total / max(n, 1)


def fit(data: Encoded, *, with_context: bool) -> tuple[Profile, float]:
    """Coordinate ascent on MRR (the embedding weight is fixed at 1 as the scale; the
    context weight stays 0 without context), then a logistic calibration on top-1
    correctness with the fitted weights, no-label rows counting as wrong."""
    free = [1, 2, 3] if with_context else [1, 2]
    best_w = START.as_array().copy()
    if not with_context:
        best_w[3] = 0.0
    best = mean_mrr(data, best_w)
    for _ in range(4):
        improved = False
        for c in free:
            for value in STEPS:
                trial = best_w.copy()
                trial[c] = value
                mrr = mean_mrr(data, trial)
                if mrr > best + 1e-6:
                    best, best_w, improved = mrr, trial, True
        if not improved:
            break
    ranks, features = ranks_and_features(data, best_w)
    coef = fit_logistic(features, ranks == 1, CALIBRATION_FIT)
    calibration = Calibration(
        round(float(coef[0]), 3), tuple(round(float(c), 3) for c in coef[1:]), ABSTAIN_BELOW
    )
    weights = NormaliserWeights.from_array([round(float(v), 3) for v in best_w])
    logger.info("fitted %s %s (fit MRR %.3f)", weights, calibration, best)
    return Profile(weights, calibration), best


def confidences(profile: Profile, data: Encoded) -> tuple[npt.NDArray[np.int64], FloatArray]:
    ranks, features = ranks_and_features(data, profile.weights.as_array())
    conf = np.asarray([profile.calibration.confidence(f) for f in features], dtype=np.float32)
    return ranks, conf


def score(profile: Profile, data: Encoded) -> Scores:
    ranks, conf = confidences(profile, data)
    abstain = conf < profile.calibration.abstain_below
    labelled = np.asarray([g >= 0 for g in data.gold], dtype=bool)
    top1, recall5, mrr = metrics_from_ranks(ranks[labelled])
    correct = labelled & (ranks == 1)
    return Scores(
        n=len(data.gold),
        n_labelled=int(labelled.sum()),
        top1=top1,
        recall5=recall5,
        mrr=mrr,
        abstained=int(abstain.sum()),
        abstained_correctly=int((abstain & ~labelled).sum()),
        no_label=int((~labelled).sum()),
        answered=int((~abstain).sum()),
        answered_correct=int((~abstain & correct).sum()),
    )


def threshold_sweep(
    profile: Profile, data: Encoded, thresholds: Sequence[float] = SWEEP
) -> list[dict[str, float]]:
    """What other abstention thresholds would give on the same rows. The shipped one is
    set a priori at 0.5; this shows the trade-off, it does not choose."""
    ranks, conf = confidences(profile, data)
    labelled = np.asarray([g >= 0 for g in data.gold], dtype=bool)
    correct = labelled & (ranks == 1)
    rows = []
    for threshold in thresholds:
        abstain = conf < threshold
        hit = int((abstain & ~labelled).sum())
        answered = ~abstain
        rows.append(
            {
                "threshold": threshold,
                "abstain_precision": hit / abstain.sum() if abstain.any() else float("nan"),
                "abstain_recall": hit / (~labelled).sum() if (~labelled).any() else float("nan"),
                "answered": int(answered.sum()),
                "answered_accuracy": float(correct[answered].mean())
                if answered.any()
                else float("nan"),
            }
        )
    return rows
