"""Title normalisation and the hybrid ranker on a small catalog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.title_text import normalise_title
from tools.titles import label_space as label_space_module
from tools.titles import ranker as ranker_module
from tools.titles.components import COMPONENTS, RankerWeights
from tools.titles.label_space import similarities
from tools.titles.lexical import LexicalIndex, WordIndex, stem, words
from tools.titles.ranker import TitleRanker
from vectorstore.embeddings import default_embedder
from vectorstore.roles import CatalogRole, load_esco_occupations


@pytest.mark.parametrize(
    ("raw", "text", "level", "location", "modifiers"),
    [
        ("Sr. Acct Mgr - EMEA", "account manager", "senior", "emea", ()),
        ("RN - Night Shift Float", "registered nurse", None, None, ("night shift", "float")),
        ("Software Engineer III (Berlin)", "software engineer", "3", "berlin", ()),
        ("SWE L4, Remote", "software engineer", "4", "remote", ()),
        ("Engineer Level 2", "engineer", "2", None, ()),
        ("Pit Crew Tech Lvl 2", "pit crew technician", "2", None, ()),
        ("Jr Dev", "developer", "junior", None, ()),
        ("VP Sales NYC", "vice president sales", None, "nyc", ()),
        ("Customer Service Rep (PRN)", "customer service representative", None, None, ("prn",)),
        ("Admin Asst II", "administrator assistant", "2", None, ()),
        ("IT Tech Lead", "it technical lead", None, None, ()),
        ("Protégé Logistic", "protege logistic", None, None, ()),
        ("Senior", "senior", "senior", None, ()),
    ],
)
def test_normalise(
    raw: str, text: str, level: str | None, location: str | None, modifiers: tuple[str, ...]
) -> None:
    title = normalise_title(raw)
    assert (title.text, title.level, title.location, title.modifiers) == (
        text,
        level,
        location,
        modifiers,
    )


ROLES = [
    CatalogRole("nurse", "registered nurse", ("staff nurse", "charge nurse")),
    CatalogRole("swe", "software engineer", ("software developer", "programmer")),
    CatalogRole("am", "account manager", ("key account manager", "client manager")),
    CatalogRole("chef", "chef", ("cook", "head chef")),
    CatalogRole("driver", "truck driver", ("lorry driver", "heavy goods vehicle driver")),
]


@pytest.fixture(scope="module")
def ranker() -> TitleRanker:
    return TitleRanker(ROLES, default_embedder())


def test_ranks_obvious_titles(ranker: TitleRanker) -> None:
    for title, role in [
        ("Sr. Software Eng II", "swe"),
        ("RN - Night Shift", "nurse"),
        ("Key Acct Mgr (London)", "am"),
        ("HGV Driver", "driver"),
    ]:
        result = ranker.rank(title, k=3)
        assert result.candidates[0].role_id == role, title
        assert len(result.candidates) == 3
        assert "label" in result.candidates[0].evidence


def test_deterministic(ranker: TitleRanker) -> None:
    a = ranker.rank("software developer backend")
    b = ranker.rank("software developer backend")
    assert [(c.role_id, c.score) for c in a.candidates] == [
        (c.role_id, c.score) for c in b.candidates
    ]
    assert a.confidence == b.confidence


def test_abstains_on_gibberish(ranker: TitleRanker) -> None:
    result = ranker.rank("xqzv blorptang 7734")
    assert result.abstained
    assert result.best is None


def test_confident_on_exact_label(ranker: TitleRanker) -> None:
    result = ranker.rank("Registered Nurse")
    assert not result.abstained
    assert result.best is not None and result.best.role_id == "nurse"


def test_memory_hit_wins() -> None:
    ranker = TitleRanker(ROLES, default_embedder())
    # "Pit Crew Tech" means nothing lexically; the customer approved it as a driver role
    before = ranker.rank("Pit Crew Technician Lvl 2")
    ranker.remember([("Pit Crew Technician", "driver"), ("Grill Operator", "unknown-role")])
    after = ranker.rank("Pit Crew Technician Lvl 2")
    assert ranker.memory_size == 1
    assert after.candidates[0].role_id == "driver"
    assert after.candidates[0].evidence["approved_title"] == "pit crew technician"
    assert after.confidence > before.confidence


@pytest.mark.parametrize(
    ("raw", "text", "modifiers"),
    [
        # "contract" is a role word unless it stands alone in a bracket or tail
        ("CONTRACT & TENDERING EXECUTIVE", "contract and tendering executive", ()),
        ("Software Engineer (Contract)", "software engineer", ("contract",)),
        ("Nurse - Locum", "nurse", ("locum",)),
        ("Locum Doctor", "locum doctor", ()),
        ("We are hiring Officer, HRGA", "officer hrga", ("we are hiring",)),
        ("URGENT!! Sales Executive", "sales executive", ("urgent",)),
    ],
)
def test_normalise_ad_noise(raw: str, text: str, modifiers: tuple[str, ...]) -> None:
    title = normalise_title(raw)
    assert (title.text, title.modifiers) == (text, modifiers)


def test_stem_and_words() -> None:
    assert [stem(w) for w in ("nurses", "vacancies", "business", "analytics", "bus")] == [
        "nurse",
        "vacancy",
        "business",
        "analytics",
        "bus",
    ]
    assert words("Sales & Accounts (KL)") == ["sale", "account", "kl"]


def test_lexical_index_identical_text_scores_one() -> None:
    index = LexicalIndex(["registered nurse", "software engineer", "nurse assistant"])
    scores = index.query("registered nurse")
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert scores[0] > scores[2] > scores[1]
    assert index.query("zzzz qqqq").max() == 0.0


def test_word_index_shares_query_idf_mass() -> None:
    index = WordIndex([["sale", "assistant"], ["software", "developer"], ["assistant"]])
    scores = index.query(["sale", "assistant"])
    assert scores[0] > scores[2] > scores[1] == 0.0
    assert 0.0 < scores[0] < 1.0
    # an unknown word keeps its (maximal) IDF in the denominator
    assert index.query(["sale", "assistant", "blorp"])[0] < scores[0]


def test_similarities_paths_agree() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(50, 8)).astype(np.float32)
    few = rng.normal(size=(2, 8)).astype(np.float32)
    many = np.vstack([few] * 8)
    assert np.allclose(similarities(matrix, few), matrix @ few.T, atol=1e-5)
    assert np.allclose(similarities(matrix, many)[:, :2], matrix @ few.T, atol=1e-5)


GROUPED = [
    CatalogRole("nurse", "registered nurse", ("staff nurse",), "Nurses care for patients.", "2221"),
    CatalogRole("midwife", "midwife", ("birth attendant",), "Midwives deliver babies.", "2222"),
    CatalogRole("icu", "intensive care nurse", (), "Nurses in intensive care units.", "2221"),
    CatalogRole("swe", "software engineer", ("programmer",), "They write software.", "2512"),
    CatalogRole("driver", "truck driver", ("lorry driver",), "", ""),
]


@pytest.fixture(scope="module")
def grouped() -> TitleRanker:
    return TitleRanker(GROUPED, default_embedder())


def test_role_level_evidence(grouped: TitleRanker) -> None:
    result = grouped.rank("Staff Nurse", k=5)
    by_role = {c.role_id: c.evidence for c in result.candidates}
    assert result.candidates[0].role_id == "nurse"
    nurse, icu, swe = by_role["nurse"], by_role["icu"], by_role["swe"]
    # the ICU role shares the nurse role's group, so it inherits its best label similarity
    assert icu["group_embedding"] == pytest.approx(nurse["label_embedding"], abs=1e-4)
    assert float(icu["group_embedding"]) > float(icu["label_embedding"])
    assert swe["group_embedding"] == pytest.approx(swe["label_embedding"], abs=1e-4)
    assert nurse["head_match"] == 1.0 and icu["head_match"] == 1.0 and swe["head_match"] == 0.0
    assert float(nurse["label_words"]) > 0.0 and swe["label_words"] == 0.0
    assert float(nurse["description_words"]) > 0.0
    assert nurse["label_brevity"] == pytest.approx(0.5)


def test_memory_votes_and_exact_hits() -> None:
    ranker = TitleRanker(ROLES, default_embedder())
    ranker.remember([("Pit Crew Technician", "driver")] * 3 + [("Pit Crew Technician", "chef")])
    top = ranker.rank("Pit Crew Technician").candidates
    evidence = {c.role_id: c.evidence for c in top}
    assert top[0].role_id == "driver"
    assert evidence["driver"]["memory_exact"] == pytest.approx(0.75)
    assert evidence["chef"]["memory_exact"] == pytest.approx(0.25)
    assert float(evidence["driver"]["memory_vote"]) > float(evidence["chef"]["memory_vote"])
    assert evidence["nurse"]["memory_exact"] == 0.0


def test_reduced_space_shortlist_matches_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """The large-catalog path (reduced-space pass + exact shortlist) returns the same
    top candidates, with exact label evidence for them."""
    exact = TitleRanker(ROLES, default_embedder(), approximate_above=None)
    monkeypatch.setattr(ranker_module, "SHORTLIST", 2)
    monkeypatch.setattr(label_space_module, "REDUCED_DIMENSIONS", 4)
    fast = TitleRanker(ROLES, default_embedder(), approximate_above=1)
    assert fast._labels.reduced is not None
    for title in ["Sr. Software Eng II", "RN - Night Shift", "HGV Driver", "head cook"]:
        a, b = exact.rank(title, k=2), fast.rank(title, k=2)
        assert [c.role_id for c in a.candidates] == [c.role_id for c in b.candidates], title
        assert a.candidates[0].evidence["label_embedding"] == pytest.approx(
            b.candidates[0].evidence["label_embedding"], abs=1e-4
        )


def test_rank_many_matches_rank(ranker: TitleRanker) -> None:
    titles = ["Sr. Software Eng II", "RN - Night Shift", "Key Acct Mgr (London)", "HGV Driver"]
    batch = ranker.rank_many(titles, k=3)
    for title, result in zip(titles, batch, strict=True):
        single = ranker.rank(title, k=3)
        assert [c.role_id for c in single.candidates] == [c.role_id for c in result.candidates]
        assert single.confidence == pytest.approx(result.confidence, abs=1e-5)


def test_load_esco_occupations_keeps_description_and_group(tmp_path: Path) -> None:
    path = tmp_path / "occupations.csv"
    path.write_text(
        "conceptUri,preferredLabel,altLabels,description,iscoGroup\n"
        'u1,chef,"cook\nhead chef","Chefs  cook.\nThey plan menus.",3434\n',
        encoding="utf-8",
    )
    (role,) = load_esco_occupations(path)
    assert role == CatalogRole(
        "u1", "chef", ("cook", "head chef"), "Chefs cook. They plan menus.", "3434"
    )
    assert [label for _, label in role.labels()] == ["chef", "cook", "head chef"]


def test_weights_cover_every_component() -> None:
    assert tuple(RankerWeights.__dataclass_fields__) == COMPONENTS
    weights = RankerWeights.from_array(list(range(len(COMPONENTS))))
    assert weights.as_array().tolist() == list(range(len(COMPONENTS)))
