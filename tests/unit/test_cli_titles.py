"""`talentsync titles fit-adapter`: fits on a tiny catalog, stores the adapter, and the title
mapping built afterwards ranks with it and says so in its provenance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agents.title_agent.stack import build_title_mapping
from api.cli import app
from core.catalog import load_catalog
from core.settings import Settings, get_settings
from pii.guard import get_guard
from pii.identity import RecordIdentity
from tests.factories import make_role_catalog, write_catalog
from tools.titles.adapter_store import MANIFEST
from tools.titles.profiles import COLD_ADAPTED, WARM_ADAPTED
from vectorstore.client import chroma_client
from vectorstore.embeddings import default_embedder
from vectorstore.memory import ApprovedMemory

runner = CliRunner()


@pytest.fixture
def settings(cli_env: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    catalog_path = write_catalog(tmp_path / "catalog.yaml", make_role_catalog())
    cli_env.setenv("TALENTSYNC_CATALOG_PATH", str(catalog_path))
    get_settings.cache_clear()
    return get_settings()


def _manifest(settings: Settings) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(
        (settings.title_adapter_path / MANIFEST).read_text(encoding="utf-8")
    )
    return manifest


def test_fit_adapter_stores_an_adapter_the_next_mapping_ranks_with(settings: Settings) -> None:
    result = runner.invoke(app, ["titles", "fit-adapter"])

    assert result.exit_code == 0, result.output
    assert "catalog labels (0 approved mappings" in result.output
    manifest = _manifest(settings)
    assert (settings.title_adapter_path / manifest["file"]).is_file()
    assert manifest["digest"] in result.output

    mapping = build_title_mapping(
        settings, catalog=load_catalog(settings.catalog_path), firewall=get_guard().firewall
    )
    assert mapping is not None and mapping.ranker is not None
    assert mapping.ranker.adapter is not None
    assert mapping.ranker.adapter.digest == manifest["digest"]
    assert mapping.ranker.profile is COLD_ADAPTED
    suggestion = mapping.mapper.suggest("Staff Nurse", department=None, identity=RecordIdentity())
    assert suggestion.provenance["adapter"] == manifest["digest"]


def test_auto_learns_from_approvals_once_there_are_enough(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TALENTSYNC_TITLE_ADAPTER_MIN_APPROVALS", "3")
    get_settings.cache_clear()
    memory = ApprovedMemory(chroma_client(settings), default_embedder())
    memory.add(
        [("ward nurse", "role-nurse"), ("sous chef", "role-chef"), ("backend dev", "role-swe")],
        approved_by="ana",
    )

    result = runner.invoke(app, ["titles", "fit-adapter", "--from", "auto"])

    assert result.exit_code == 0, result.output
    assert "approved memory (3 mappings)" in result.output
    assert _manifest(settings)["key"] | {"catalog_digest": None} == {
        "model_id": default_embedder().model_id,
        "catalog_digest": None,
        "kind": "memory",
        "approvals": 3,
    }
    mapping = build_title_mapping(
        get_settings(), catalog=load_catalog(settings.catalog_path), firewall=get_guard().firewall
    )
    assert mapping is not None and mapping.ranker is not None
    assert mapping.ranker.profile is WARM_ADAPTED


def test_fit_adapter_from_memory_without_approvals_says_so_and_stores_nothing(
    settings: Settings,
) -> None:
    result = runner.invoke(app, ["titles", "fit-adapter", "--from", "memory"])

    assert result.exit_code == 1
    assert "no approved mappings" in result.output
    assert not (settings.title_adapter_path / MANIFEST).exists()
