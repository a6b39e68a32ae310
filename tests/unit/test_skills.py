"""Skill normaliser: mention normalisation, taxonomy loading, ranking, abstention, index."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import chromadb
import numpy as np
import pytest
from chromadb.api.types import Documents, Embeddings

from evals.fitting.skill_fit import split_by_sentence
from evals.metrics import metrics_from_ranks
from evals.skill_examples import Example, load_examples
from tools.skills import (
    SkillMatch,
    SkillNormaliser,
    build_taxonomy,
    clean_mention,
    load_taxonomy,
    normalise_mention,
)
from tools.skills.profiles import ALONE_PROFILE, SHIPPED, load_profiles
from tools.skills.taxonomy import SYNTHETIC_PREFIX, CollectionRow, synthetic_id
from vectorstore.embeddings import MiniLMEmbeddingFunction, default_embedder
from vectorstore.skills_index import SkillsIndex, StaleIndexError


@pytest.mark.parametrize(
    ("raw", "cleaned", "normalised"),
    [
        ("Python 3", "Python 3", "python"),
        ("python3", "python3", "python"),
        ("HTML5", "HTML5", "html"),
        ("IPv6", "IPv6", "ipv6"),
        ("S3", "S3", "s3"),
        ("ms excel", "ms excel", "microsoft excel"),
        ("people mgmt", "people mgmt", "people management"),
        ("JS", "JS", "javascript"),
        ("excellent communication skills", "excellent communication skills", "communication"),
        ("Experience with Java 8", "Experience with Java 8", "java"),
        (
            "optimize existing processes",
            "optimize existing processes",
            "optimise existing processes",
        ),
        ("analyze data", "analyze data", "analyse data"),
        ("PostCSS )", "PostCSS", "postcss"),
        ("* \u2022 . NET Analyzers", ".NET Analyzers", ".net analysers"),
        ("Node JS ( server side )", "Node JS (server side)", "node javascript (server side)"),
        ("CSS/SASS", "CSS/SASS", "css sass"),
        ("R&D", "R&D", "r and d"),
        ("skills", "skills", "skills"),
        ("  ", "", ""),
    ],
)
def test_mention_normalisation(raw: str, cleaned: str, normalised: str) -> None:
    assert clean_mention(raw) == cleaned
    assert normalise_mention(raw) == normalised


URI_SHEETS = "http://data.europa.eu/esco/skill/sheets"
URI_TEAMS = "http://data.europa.eu/esco/skill/teams"
LABELS = [
    "JavaScript",
    "Java (computer programming)",
    "Python (computer programming)",
    "use spreadsheets software",
    "personnel management",
    "manage budgets",
    "work in teams",
    "cooperate with colleagues",
    "communication",
    "design database scheme",
    "design clothing",
    "SQL",
    "feed livestock",
    "drive vehicles",
    "Java",
]
COLLECTIONS = {
    "use spreadsheets software": CollectionRow(
        URI_SHEETS, ("Microsoft Office Excel", "use spreadsheets program"), "Use software tools"
    ),
    "work in teams": CollectionRow(
        URI_TEAMS, ("team-working", "cooperate with colleagues", "Work In Teams"), ""
    ),
}


def test_taxonomy_enrichment() -> None:
    concepts = {c.label: c for c in build_taxonomy(LABELS, COLLECTIONS)}
    sheets = concepts["use spreadsheets software"]
    assert sheets.concept_id == URI_SHEETS
    assert sheets.alt_labels == ("Microsoft Office Excel", "use spreadsheets program")
    assert sheets.description == "Use software tools"
    # an alias that is another concept's preferred label belongs to that concept only;
    # a case variant of the concept's own label is not a second entry
    teams = concepts["work in teams"]
    assert "cooperate with colleagues" not in teams.alt_labels
    assert [text for _, text in teams.labels()] == ["work in teams", "team-working"]
    # ESCO's disambiguating parenthesis gives a bare alias, unless that names a concept
    assert concepts["Python (computer programming)"].alt_labels == ("Python",)
    assert concepts["Java (computer programming)"].alt_labels == ()
    # concepts without a collection row get a stable synthetic id
    assert concepts["SQL"].concept_id == synthetic_id("SQL")
    assert concepts["SQL"].concept_id.startswith(SYNTHETIC_PREFIX)
    assert synthetic_id("SQL") != synthetic_id("NoSQL")


def test_load_taxonomy_from_files(tmp_path: Path) -> None:
    labels = tmp_path / "skills_en_labels.txt"
    labels.write_text("SQL\nuse spreadsheets software\n\nSQL\n", encoding="utf-8")
    collection = tmp_path / "digitalSkillsCollection_en.csv"
    with collection.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle, ["conceptUri", "preferredLabel", "altLabels", "description"]
        )
        writer.writeheader()
        writer.writerow(
            {
                "conceptUri": URI_SHEETS,
                "preferredLabel": "use spreadsheets software",
                "altLabels": "Microsoft Office Excel | LibreOffice Calc",
                "description": "d",
            }
        )
    enriched = load_taxonomy(labels)
    assert [c.label for c in enriched] == ["SQL", "use spreadsheets software"]
    assert enriched[1].alt_labels == ("Microsoft Office Excel", "LibreOffice Calc")
    bare = load_taxonomy(labels, collection_paths=[])
    assert bare[1].alt_labels == ()
    assert bare[1].concept_id == synthetic_id("use spreadsheets software")


@pytest.fixture(scope="module")
def normaliser() -> SkillNormaliser:
    return SkillNormaliser(build_taxonomy(LABELS, COLLECTIONS), default_embedder())


def top_label(match: SkillMatch) -> str:
    assert match.candidates, match
    return match.candidates[0].label


def test_exact_match_is_confident(normaliser: SkillNormaliser) -> None:
    for text in ("JavaScript", "SQL", "personnel management"):
        match = normaliser.normalise(text)
        assert top_label(match) == text
        assert not match.abstained, (text, match.confidence)
        assert match.best is not None and match.best.label == text
        assert match.best.evidence["matched"] == text
        assert match.best.evidence["matched_kind"] == "preferred"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Python 3", "Python (computer programming)"),
        ("python3", "Python (computer programming)"),
        ("ms excel", "use spreadsheets software"),
        ("MS Excel 2016", "use spreadsheets software"),
        ("people mgmt", "personnel management"),
        ("Team player", "work in teams"),
        ("excellent communication skills", "communication"),
    ],
)
def test_normalisation_and_aliases_find_the_concept(
    normaliser: SkillNormaliser, text: str, label: str
) -> None:
    assert top_label(normaliser.normalise(text)) == label


def test_alias_evidence(normaliser: SkillNormaliser) -> None:
    best = normaliser.normalise("ms excel").candidates[0]
    assert best.concept_id == URI_SHEETS
    assert best.evidence["matched"] == "Microsoft Office Excel"
    assert best.evidence["matched_kind"] == "alt"


def test_context_disambiguates(normaliser: SkillNormaliser) -> None:
    data = normaliser.normalise(
        "design", context="You will design the database schemas and tune SQL queries."
    )
    fashion = normaliser.normalise(
        "design", context="You will design clothing for our spring fashion collection."
    )
    assert top_label(data) == "design database scheme"
    assert top_label(fashion) == "design clothing"
    # the sentence is evidence, reported per candidate
    assert isinstance(data.candidates[0].evidence["context"], float)


def test_abstains_on_nonsense(normaliser: SkillNormaliser) -> None:
    for text in ("xqzv blorptang 7734", "qwrtp zzkv"):
        match = normaliser.normalise(text, k=3)
        assert match.abstained, (text, match.confidence)
        assert match.best is None
        assert len(match.candidates) == 3  # still offered to a reviewer


@pytest.mark.parametrize("text", ["", "   ", " . "])
def test_empty_mentions_abstain_without_candidates(normaliser: SkillNormaliser, text: str) -> None:
    match = normaliser.normalise(text, context="Some sentence.")
    assert match.abstained
    assert match.candidates == []
    assert match.confidence == 0.0


TEXTS = [
    "JavaScript",
    "ms excel",
    "design",
    "xqzv blorptang",
    "",
    "people mgmt",
    "Java",
    "feeding the animals",
]
CONTEXTS: list[str | None] = [
    None,
    "Excel and PowerPoint skills",
    "design the database schemas",
    None,
    "empty",
    None,
    "Java and Spring",
    "Daily care of pigs: feeding and moving",
]


def test_confidence_bounds_and_order(normaliser: SkillNormaliser) -> None:
    for match in normaliser.normalise_many(TEXTS, contexts=CONTEXTS, k=4):
        assert 0.0 <= match.confidence <= 1.0
        scores = [c.score for c in match.candidates]
        assert scores == sorted(scores, reverse=True)
        assert len(match.candidates) in (0, 4)
        assert len({c.concept_id for c in match.candidates}) == len(match.candidates)
        assert (match.best is None) == match.abstained or not match.candidates


def test_batch_equals_single(normaliser: SkillNormaliser) -> None:
    normaliser.clear_context_cache()
    batch = normaliser.normalise_many(TEXTS, contexts=CONTEXTS, k=3)
    normaliser.clear_context_cache()
    single = [normaliser.normalise(t, context=c, k=3) for t, c in zip(TEXTS, CONTEXTS, strict=True)]
    assert len(batch) == len(single) == len(TEXTS)
    for one, other in zip(batch, single, strict=True):
        assert [c.concept_id for c in one.candidates] == [c.concept_id for c in other.candidates]
        assert [c.score for c in one.candidates] == pytest.approx(
            [c.score for c in other.candidates], abs=1e-4
        )
        assert one.confidence == pytest.approx(other.confidence, abs=1e-4)
        assert one.abstained == other.abstained


def test_context_profile_is_chosen_per_mention(normaliser: SkillNormaliser) -> None:
    alone, with_context = normaliser.encode(["SQL", "SQL"], [None, "SQL experience is a plus"])
    assert not alone.has_context and with_context.has_context
    assert normaliser.profile_for(alone) is normaliser.alone_profile
    assert normaliser.profile_for(with_context) is normaliser.profile
    assert np.array_equal(alone.context_vector, alone.vector)


def test_argument_errors(normaliser: SkillNormaliser) -> None:
    with pytest.raises(TypeError):
        normaliser.normalise_many("JavaScript")
    with pytest.raises(ValueError, match="k must"):
        normaliser.normalise("JavaScript", k=0)
    with pytest.raises(ValueError, match="as long as"):
        normaliser.normalise_many(["a", "b"], contexts=["only one"])
    with pytest.raises(ValueError, match="shape"):
        SkillNormaliser(
            build_taxonomy(["SQL"]),
            default_embedder(),
            entry_vectors=np.zeros((2, 384), dtype=np.float32),
        )


class CountingFunction(MiniLMEmbeddingFunction):
    def __init__(self) -> None:
        super().__init__(default_embedder())
        self.texts: list[str] = []

    def __call__(self, input: Documents) -> Embeddings:
        self.texts.extend(input)
        return super().__call__(input)


def test_skills_index_is_incremental_and_feeds_the_normaliser() -> None:
    client = chromadb.EphemeralClient()
    function = CountingFunction()
    index = SkillsIndex(client, function, name="skills_test_index")
    concepts = build_taxonomy(LABELS, COLLECTIONS)
    entries = sum(1 for c in concepts for _ in c.labels())
    try:
        first = index.sync(concepts)
        assert (first.added, first.updated, first.deleted) == (entries, 0, 0)
        assert index.count() == entries
        version = index.version

        function.texts.clear()
        normaliser = SkillNormaliser.from_index(concepts, index, default_embedder())
        assert function.texts == []  # synced already: nothing re-embedded
        assert index.version == version
        direct = SkillNormaliser(concepts, default_embedder())
        assert np.allclose(normaliser.entry_matrix, direct.entry_matrix, atol=1e-5)
        assert top_label(normaliser.normalise("ms excel")) == "use spreadsheets software"

        # dropping the concept "Java" frees "Java" to be an alias of the programming
        # language: one new entry for it, one for TypeScript, the old concept's deleted
        changed = build_taxonomy([*LABELS[:-1], "TypeScript"], COLLECTIONS)
        report = index.sync(changed)
        assert sorted(function.texts) == ["Java", "TypeScript"]
        assert (report.added, report.updated, report.deleted) == (2, 0, 1)
        assert index.version != version
        with pytest.raises(StaleIndexError):
            index.entry_vectors(build_taxonomy(["Kotlin"]))
    finally:
        client.delete_collection("skills_test_index")


def test_eval_split_keeps_sentences_together(tmp_path: Path) -> None:
    path = tmp_path / "mini.dev.csv"
    rows = [
        ("s1", "Java", "", "Java (computer programming)"),
        ("s1", "Java", "", "Java (computer programming)"),
        ("s2", "a and b", "a", "LABEL NOT PRESENT"),
        ("s2", "a and b", "b", "UNDERSPECIFIED"),
        ("s3", "SQL", "", "SQL"),
        ("s4", "teamwork", "", "work in teams"),
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence", "span", "sub_span", "label"])
        writer.writerows(rows)
    examples = load_examples(path)
    assert examples[2].mention == "a" and not examples[2].has_label
    assert examples[0].mention == "Java" and examples[0].has_label
    half_a, half_b = split_by_sentence(examples, seed=7)
    assert len(half_a) + len(half_b) == len(examples)
    assert not {e.sentence for e in half_a} & {e.sentence for e in half_b}
    assert split_by_sentence(examples, seed=7) == (half_a, half_b)
    assert isinstance(half_a[0], Example)


def test_metrics_from_ranks() -> None:
    top1, recall5, mrr = metrics_from_ranks(np.asarray([1, 2, 6, 1], dtype=np.int64))
    assert (top1, recall5) == (0.5, 0.75)
    assert mrr == pytest.approx((1 + 0.5 + 1 / 6 + 1) / 4)


def test_shipped_profiles_are_read_from_their_data_file_and_a_stale_file_is_refused(
    tmp_path: Path,
) -> None:
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert shipped["provenance"]["fitted_by"].startswith("python -m evals.fitting.skills")
    assert load_profiles()["alone"] == ALONE_PROFILE
    stale = {**shipped, "components": ["embedding", "lexical"]}
    (tmp_path / "stale.json").write_text(json.dumps(stale), encoding="utf-8")
    with pytest.raises(ValueError, match="fitted on components"):
        load_profiles(tmp_path / "stale.json")
    short = json.loads(json.dumps(shipped))
    short["profiles"]["context"]["calibration"]["coefficients"].pop()
    (tmp_path / "short.json").write_text(json.dumps(short), encoding="utf-8")
    with pytest.raises(ValueError, match="one coefficient per confidence feature"):
        load_profiles(tmp_path / "short.json")
