"""NER reads only the sentences that could hold a person worth keeping; what it finds there
lands on the whole text's tokens as if it had read everything."""

from __future__ import annotations

import pytest
from presidio_analyzer.nlp_engine import NlpArtifacts

from pii.analyzer import LowercaseLemmaEngine, get_analyzer
from pii.ner_plan import plan_ner, run_plans, sentences


@pytest.fixture(scope="module")
def engine() -> LowercaseLemmaEngine:
    engine = get_analyzer().nlp_engine
    assert isinstance(engine, LowercaseLemmaEngine)
    return engine


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Ingrid K. Solberg met us. Call her.", ["Dr. Ingrid K. Solberg met us.", "Call her."]),
        ("Badge reissued; see HR", ["Badge reissued;", "see HR"]),
        ("Line one\n\n  line two\n", ["Line one", "line two"]),
        ("Paid 12.50. Next", ["Paid 12.50. Next"]),  # no cut after a number
        ("", []),
    ],
)
def test_sentences_are_cut_only_where_safe(text: str, expected: list[str]) -> None:
    assert [text[a:b] for a, b in sentences(text)] == expected


def _people(artifacts: NlpArtifacts) -> list[str]:
    return [e.text for e in artifacts.entities if e.label_ == "PERSON"]


def test_only_sentences_that_may_name_someone_are_read(engine: LowercaseLemmaEngine) -> None:
    text = "Promoted to team lead. Backup is Ingrid Solberg. Jonas Weber will mentor two hires."
    jonas = (text.index("Jonas Weber"), text.index("Jonas Weber") + len("Jonas Weber"))
    shared, mine = plan_ner(engine, text), plan_ner(engine, text, [jonas])
    assert [text[a:b] for a, b in shared.stretches] == [
        "Backup is Ingrid Solberg.",
        "Jonas Weber will mentor two hires.",
    ]
    assert [text[a:b] for a, b in mine.stretches] == ["Backup is Ingrid Solberg."]
    artifacts = run_plans(engine, {"mine": mine}, batch_size=8)["mine"]
    assert _people(artifacts) == ["Ingrid Solberg"]
    assert [t.text for t in artifacts.tokens] == [t.text for t in engine.get_nlp("en")(text)]


def test_a_plain_text_needs_no_ner(engine: LowercaseLemmaEngine) -> None:
    assert not plan_ner(engine, "Senior Account Executive").needs_ner


def test_tokens_glued_inside_a_word_read_the_whole_text(engine: LowercaseLemmaEngine) -> None:
    text = "Promoted. It can't wait."
    assert plan_ner(engine, text).stretches == ((0, len(text)),)
