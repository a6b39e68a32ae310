"""The title adapter learns how a customer's titles map onto roles: where titles sit in a
systematically different place from the role labels, a fitted W finds the role an identity
cannot, and with nothing to learn from it stays the identity."""

from __future__ import annotations

import numpy as np

from tools.titles.adapter import TitleAdapter, normalised, role_centroids


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
    assert np.allclose(centroids, [[2**-0.5, 2**-0.5], [1, 0]])
