"""`talentsync skills index` builds the skills index ahead of the first profile, and
`talentsync skills map` places strings as the provisioning graph does."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from core.settings import Settings, get_settings
from tests.factories import write_skill_taxonomy
from vectorstore.client import chroma_client
from vectorstore.embeddings import MiniLMEmbeddingFunction, default_embedder
from vectorstore.skills_index import SkillsIndex

runner = CliRunner()


@pytest.fixture
def settings(cli_env: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """A five-concept taxonomy."""
    cli_env.setenv("TALENTSYNC_SKILLS_TAXONOMY_PATH", str(write_skill_taxonomy(tmp_path / "esco")))
    get_settings.cache_clear()
    return get_settings()


def _indexed(settings: Settings) -> int:
    index = SkillsIndex(chroma_client(settings), MiniLMEmbeddingFunction(default_embedder()))
    return index.count()


def test_index_builds_the_skills_collection_ahead_of_the_first_profile(
    settings: Settings,
) -> None:
    assert _indexed(settings) == 0

    result = runner.invoke(app, ["skills", "index"])

    assert result.exit_code == 0, result.output
    assert "skills index ready: 5 concepts" in result.output
    assert _indexed(settings) > 5  # preferred and alternative labels, each an entry


def test_map_shows_exact_labels_placements_and_abstentions(settings: Settings) -> None:
    result = runner.invoke(
        app, ["skills", "map", "MS Excel", "python 3", "underwater basket weaving"]
    )

    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "use spreadsheets software" in rows["MS Excel"]
    assert "exact" in rows["MS Excel"]
    assert "Python (computer programming)" in rows["python 3"]
    assert "abstained" in rows["underwater basket weaving"]


def test_map_refuses_when_skills_are_switched_off(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TALENTSYNC_SKILL_MAPPER", "off")
    get_settings.cache_clear()

    result = runner.invoke(app, ["skills", "map", "Python"])

    assert result.exit_code == 1
    assert "TALENTSYNC_SKILL_MAPPER=off" in result.output


def test_index_shows_a_progress_bar_while_it_embeds_the_labels(settings: Settings) -> None:
    result = runner.invoke(app, ["skills", "index"])

    assert result.exit_code == 0, result.output
    bar = [line for line in result.stderr.splitlines() if "skills index (labels" in line]
    assert bar, result.stderr
    done, total = bar[-1].split("/")[0].split()[-1], bar[-1].split("/")[1].split()[0]
    assert done == total and int(total) > 5
