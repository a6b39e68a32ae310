"""What a refit learns from, and what the product does with a stored adapter that no longer
fits its catalog: it ranks without it and says so."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agents.title_agent.stack import build_title_mapping, refit_title_adapter
from core.settings import Settings
from pii.guard import get_guard
from pii.identity import RecordIdentity
from tests.factories import TINY_ROLES, make_role_catalog
from tools.titles.adapter_refit import AdapterSource, choose_kind
from tools.titles.adapter_store import REFIT_COMMAND, AdapterKind
from tools.titles.profiles import COLD
from vectorstore.client import chroma_client
from vectorstore.embeddings import default_embedder
from vectorstore.memory import ApprovedMemory


@pytest.mark.parametrize(
    ("source", "approvals", "kind"),
    [
        (AdapterSource.auto, 0, AdapterKind.catalog),
        (AdapterSource.auto, 199, AdapterKind.catalog),
        (AdapterSource.auto, 200, AdapterKind.memory),
        (AdapterSource.memory, 5, AdapterKind.memory),
        (AdapterSource.catalog, 5000, AdapterKind.catalog),
    ],
)
def test_what_a_refit_learns_from(source: AdapterSource, approvals: int, kind: AdapterKind) -> None:
    assert choose_kind(source=source, approvals=approvals, min_approvals=200) is kind


def test_learning_from_an_empty_memory_is_refused() -> None:
    with pytest.raises(ValueError, match="no approved mappings"):
        choose_kind(source=AdapterSource.memory, approvals=0, min_approvals=200)


def test_after_a_catalog_change_the_mapping_runs_without_the_stale_adapter(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(var_dir=tmp_path)
    fit = refit_title_adapter(settings, catalog=make_role_catalog(), source=AdapterSource.auto)
    assert fit.key.kind is AdapterKind.catalog and fit.path.is_file()
    changed = make_role_catalog(
        TINY_ROLES | {"role-driver": ("Truck Driver", "Lorry Driver", "HGV Driver")}
    )

    with caplog.at_level(logging.WARNING, logger="tools.titles.adapter_store"):
        mapping = build_title_mapping(settings, catalog=changed, firewall=get_guard().firewall)

    assert mapping is not None and mapping.ranker is not None
    assert mapping.ranker.adapter is None
    assert mapping.ranker.profile is COLD
    assert "catalog" in caplog.text and REFIT_COMMAND in caplog.text
    suggestion = mapping.mapper.suggest("Staff Nurse", department=None, identity=RecordIdentity())
    assert suggestion.provenance["adapter"] is None


def test_a_catalog_adapter_next_to_enough_approvals_asks_for_a_refit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(var_dir=tmp_path, title_adapter_min_approvals=2)
    refit_title_adapter(settings, catalog=make_role_catalog(), source=AdapterSource.catalog)
    memory = ApprovedMemory(chroma_client(settings), default_embedder())
    memory.add([("ward nurse", "role-nurse"), ("sous chef", "role-chef")], approved_by="ana")

    with caplog.at_level(logging.WARNING, logger="tools.mapping.title_mapping"):
        mapping = build_title_mapping(
            settings, catalog=make_role_catalog(), firewall=get_guard().firewall
        )

    assert mapping is not None and mapping.ranker is not None
    assert mapping.ranker.adapter is not None
    assert "2 mappings" in caplog.text and REFIT_COMMAND in caplog.text
