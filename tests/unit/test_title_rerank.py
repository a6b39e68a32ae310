"""The title ranker's second stage: what it rescores, what it leaves in linear order, and
the shipped file it is loaded from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.title_text import normalise_title
from tools.titles.components import COMPONENTS
from tools.titles.profiles import COLD, COLD_ADAPTED, WARM, WARM_ADAPTED
from tools.titles.ranker import TitleRanker
from tools.titles.rerank import (
    RERANK_DEPTH,
    SHIPPED,
    Reranker,
    interaction_features,
    load_rerankers,
    save_rerankers,
)
from vectorstore.embeddings import default_embedder
from vectorstore.roles import CatalogRole


def test_interaction_features_are_components_then_pairwise_products() -> None:
    comps = np.asarray([[1.0, 2.0], [3.0, 5.0]], dtype=np.float32)  # 2 components, 2 roles

    features = interaction_features(comps)

    # role 0: a=1, b=3 -> a, b, a*a, a*b, b*b
    assert features.tolist() == [[1, 3, 1, 3, 9], [2, 5, 4, 10, 25]]


def test_only_the_best_roles_are_rescored_and_the_rest_keep_linear_order() -> None:
    rng = np.random.default_rng(7)
    roles = RERANK_DEPTH + 30
    comps = rng.random((2, roles), dtype=np.float32)
    fused = np.linspace(1.0, 0.0, roles, dtype=np.float32)  # role 0 best by the linear fusion
    reranker = Reranker(np.asarray([0, 1, 0, 0, 0], dtype=np.float32))  # second component

    final = reranker.rerank(fused, comps)

    top = np.arange(RERANK_DEPTH)
    assert np.array_equal(np.argsort(-final[top]), np.argsort(-comps[1, top]))
    rest = np.arange(RERANK_DEPTH, roles)
    assert final[rest].max() < final[top].min() - 19  # far below: no softmax mass
    assert np.array_equal(np.argsort(-final[rest], kind="stable"), np.arange(len(rest)))


def test_a_catalog_smaller_than_the_depth_is_reranked_whole() -> None:
    comps = np.asarray([[0.1, 0.9, 0.5]], dtype=np.float32)
    fused = np.asarray([3.0, 1.0, 2.0], dtype=np.float32)

    final = Reranker(np.asarray([1.0, 0.0], dtype=np.float32)).rerank(fused, comps)

    assert np.argsort(-final).tolist() == [1, 2, 0]


def test_round_trip_and_refusal_of_a_file_fitted_on_other_components(tmp_path: Path) -> None:
    components = ("a", "b")
    path = tmp_path / "rerankers.json"
    saved = {"cold": Reranker(np.asarray([0.5, -1, 2, 0, 0.25], dtype=np.float32))}
    save_rerankers(path, components, saved)

    assert load_rerankers(path, components)["cold"].weights.tolist() == [0.5, -1, 2, 0, 0.25]
    with pytest.raises(ValueError, match="fitted on components"):
        load_rerankers(path, ("a", "c"))
    data = json.loads(path.read_text(encoding="utf-8"))
    data["depth"] = RERANK_DEPTH + 1
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="depth"):
        load_rerankers(path, components)


def test_every_shipped_profile_has_a_fitted_reranker() -> None:
    shipped = load_rerankers(SHIPPED, COMPONENTS)

    assert set(shipped) == {"cold", "warm", "cold_adapted", "warm_adapted"}
    for profile in (COLD, WARM, COLD_ADAPTED, WARM_ADAPTED):
        assert profile.reranker is not None
        assert np.count_nonzero(profile.reranker.weights) > len(COMPONENTS)


def test_the_ranker_scores_with_its_profiles_reranker_unless_told_otherwise() -> None:
    roles = [
        CatalogRole("nurse", "registered nurse", ("staff nurse",)),
        CatalogRole("swe", "software engineer", ("software developer",)),
        CatalogRole("chef", "chef", ("cook",)),
    ]
    ranker = TitleRanker(roles, default_embedder())
    parsed = [normalise_title("Staff Nurse (nights)")]
    comps = ranker.components_batch(parsed, ranker.embed_titles(parsed))

    assert ranker.reranker is COLD.reranker
    assert COLD.reranker is not None
    expected = COLD.reranker.rerank(ranker.fuse(comps)[0], comps[0])
    assert np.allclose(ranker.final_scores(comps)[0], expected)

    ranker.linear_only = True
    assert ranker.reranker is None
    assert np.array_equal(ranker.final_scores(comps), ranker.fuse(comps))
