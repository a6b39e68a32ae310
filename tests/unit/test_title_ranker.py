"""Title normalisation and the hybrid ranker on a small catalog."""

from __future__ import annotations

import pytest

from tools.titles.normalise import normalise_title
from tools.titles.ranker import TitleRanker
from vectorstore.embeddings import default_embedder
from vectorstore.roles import CatalogRole


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
