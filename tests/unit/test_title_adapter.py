"""The title adapter learns how a customer's titles map onto roles: where titles sit in a
systematically different place from the role labels, a fitted W finds the role an identity
cannot, and with nothing to learn from it stays the identity. A ranker given one ranks with
the weights fitted with it."""

from __future__ import annotations

import numpy as np

from tools.titles.adapter import TitleAdapter, normalised, role_centroids
from tools.titles.components import RankerWeights
from tools.titles.profiles import COLD, COLD_ADAPTED, WARM, WARM_ADAPTED, is_warm
from tools.titles.ranker import TitleRanker
from vectorstore.embeddings import default_embedder
from vectorstore.roles import CatalogRole


def _world(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Role centroids in 16-d, and titles that are each role's centroid under a fixed
    rotation plus noise (the "reads alike, means something else" gap)."""
    rng = np.random.default_rng(7)
    centroids = normalised(rng.normal(size=(12, 16)).astype(np.float32))
    rotation, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    sample = np.random.default_rng(seed)
    roles = sample.integers(0, 12, size=n)
    noise = 0.15 * sample.normal(size=(n, 16))
    titles = normalised((centroids[roles] @ rotation.T + noise).astype(np.float32))
    return titles, roles.astype(np.int64), centroids


def _top1(
    adapter: TitleAdapter, titles: np.ndarray, roles: np.ndarray, targets: np.ndarray
) -> float:
    return float(np.mean(np.argmax(adapter.transform(titles) @ targets.T, axis=1) == roles))


def test_a_fitted_adapter_finds_roles_the_identity_misses() -> None:
    train, train_roles, centroids = _world(seed=1, n=300)
    test, test_roles, _ = _world(seed=2, n=200)
    adapter = TitleAdapter.fit(
        train, train_roles, centroids, ridge=1e-3, steps=200, learning_rate=0.05
    )
    identity = TitleAdapter.identity(16)
    assert _top1(identity, test, test_roles, centroids) < 0.5
    assert _top1(adapter, test, test_roles, centroids) > 0.9


def test_the_ridge_keeps_an_adapter_with_nothing_to_learn_near_the_identity() -> None:
    centroids = normalised(np.eye(4, dtype=np.float32))
    titles, roles = centroids.copy(), np.arange(4, dtype=np.int64)  # already right
    adapter = TitleAdapter.fit(titles, roles, centroids, ridge=1.0, steps=50)
    assert np.abs(adapter.matrix - np.eye(4)).max() < 0.05


def test_role_centroids_are_unit_means_of_each_roles_labels() -> None:
    vectors = np.asarray([[1, 0], [0, 1], [3, 0]], dtype=np.float32)
    centroids = role_centroids(vectors, np.asarray([0, 0, 1]), 2)
    assert np.allclose(centroids, [[2**-0.5, 2**-0.5], [1.0, 0.0]])


ROLES = [
    CatalogRole("nurse", "registered nurse", ("staff nurse", "charge nurse")),
    CatalogRole("swe", "software engineer", ("software developer", "programmer")),
    CatalogRole("chef", "chef", ("cook", "head chef")),
]


def test_the_shipped_adapter_profiles_weigh_the_adapted_component_and_the_others_do_not() -> None:
    assert COLD.weights.adapted_embedding == WARM.weights.adapted_embedding == 0.0
    assert COLD_ADAPTED.weights.adapted_embedding > 0.0
    assert WARM_ADAPTED.weights.adapted_embedding > 0.0
    assert COLD_ADAPTED.calibration != COLD.calibration
    assert WARM_ADAPTED.calibration != WARM.calibration


def test_a_ranker_with_an_adapter_ranks_with_the_adapter_profile() -> None:
    ranker = TitleRanker(ROLES, default_embedder())
    assert ranker.profile is COLD

    ranker.adapter = TitleAdapter.identity(ranker.embedder.dimension)
    assert ranker.profile is COLD_ADAPTED
    assert (ranker.weights, ranker.calibration) == (COLD_ADAPTED.weights, COLD_ADAPTED.calibration)

    ranker.remember([("ward nurse", "nurse")])
    assert ranker.profile is WARM_ADAPTED
    assert (ranker.weights, ranker.calibration) == (WARM_ADAPTED.weights, WARM_ADAPTED.calibration)

    ranker.adapter = None
    assert ranker.profile is WARM


def test_without_an_adapter_a_few_approvals_in_a_large_catalog_keep_the_cold_profile() -> None:
    assert not is_warm(approvals=25, roles=2942, adapted=False)
    assert is_warm(approvals=45, roles=2942, adapted=False)
    assert is_warm(approvals=1, roles=2942, adapted=True)
    assert not is_warm(approvals=0, roles=5, adapted=True)
    assert not is_warm(approvals=0, roles=5, adapted=False)

    roles = [CatalogRole(f"role-{i}", f"Role number {i}") for i in range(200)]
    ranker = TitleRanker(roles, default_embedder())
    ranker.remember([("first approved title", "role-1"), ("second approved", "role-2")])
    assert ranker.profile is COLD
    ranker.remember([("third approved title", "role-3")])
    assert ranker.profile is WARM


def test_the_adapter_changes_the_fused_scores_through_its_weight() -> None:
    ranker = TitleRanker(ROLES, default_embedder())
    plain = ranker.rank("line cook", k=3)
    ranker.adapter = TitleAdapter.identity(ranker.embedder.dimension)
    adapted = ranker.rank("line cook", k=3)

    top = adapted.candidates[0]
    assert float(top.evidence["adapted_embedding"]) > 0.0
    assert float(plain.candidates[0].evidence["adapted_embedding"]) == 0.0
    assert top.score != plain.candidates[0].score


def test_weights_the_caller_passes_win_over_the_adapter_profile() -> None:
    mine = RankerWeights(label_embedding=1.0, adapted_embedding=5.0)
    ranker = TitleRanker(ROLES, default_embedder(), weights=mine)
    ranker.adapter = TitleAdapter.identity(ranker.embedder.dimension)
    assert ranker.weights is mine
