"""A stored title adapter comes back exactly, only for the embedder and catalog it was
fitted for, and a failed save never leaves a half-written or half-switched adapter."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest

from tools.titles import adapter_store
from tools.titles.adapter import TitleAdapter
from tools.titles.adapter_store import (
    MANIFEST,
    REFIT_COMMAND,
    AdapterKey,
    AdapterKind,
    catalog_digest,
    load_adapter,
    save_adapter,
)
from vectorstore.roles import CatalogRole

DIMENSION = 8
ROLES = [
    CatalogRole("nurse", "registered nurse", ("staff nurse",)),
    CatalogRole("swe", "software engineer", ("programmer",)),
]
KEY = AdapterKey(
    model_id="all-MiniLM-L6-v2-onnx-int8",
    catalog_digest=catalog_digest(ROLES),
    kind=AdapterKind.memory,
    approvals=250,
)


def _adapter(seed: int) -> TitleAdapter:
    rng = np.random.default_rng(seed)
    return TitleAdapter(rng.normal(size=(DIMENSION, DIMENSION)).astype(np.float32))


def _load(directory: Path, **overrides: Any) -> adapter_store.StoredAdapter | None:
    fields: dict[str, Any] = {
        "directory": directory,
        "model_id": KEY.model_id,
        "catalog_digest": KEY.catalog_digest,
        "dimension": DIMENSION,
    }
    return load_adapter(**(fields | overrides))


def test_a_saved_adapter_loads_back_with_its_key_and_digest(tmp_path: Path) -> None:
    adapter = _adapter(1)
    path = save_adapter(directory=tmp_path, adapter=adapter, key=KEY)

    stored = _load(tmp_path)

    assert stored is not None
    assert np.array_equal(stored.adapter.matrix, adapter.matrix)
    assert stored.key == KEY
    assert stored.adapter.digest == KEY.digest
    assert stored.path == path
    assert KEY.digest in path.name


def test_the_key_digest_names_every_part_of_the_key() -> None:
    variants = [
        replace(KEY, model_id="openai:text-embedding-3-small"),
        replace(KEY, catalog_digest="0" * 16),
        replace(KEY, kind=AdapterKind.catalog),
        replace(KEY, approvals=251),
    ]
    assert len({KEY.digest, *(v.digest for v in variants)}) == 5


def test_an_adapter_for_another_embedder_is_refused_with_the_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    save_adapter(directory=tmp_path, adapter=_adapter(1), key=KEY)

    with caplog.at_level(logging.WARNING, logger=adapter_store.__name__):
        stored = _load(tmp_path, model_id="openai:text-embedding-3-small")

    assert stored is None
    assert "openai:text-embedding-3-small" in caplog.text
    assert KEY.model_id in caplog.text
    assert REFIT_COMMAND in caplog.text


def test_an_adapter_for_a_changed_catalog_is_refused_with_the_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    save_adapter(directory=tmp_path, adapter=_adapter(1), key=KEY)
    changed = [ROLES[0], CatalogRole("swe", "software engineer", ("programmer", "coder"))]

    with caplog.at_level(logging.WARNING, logger=adapter_store.__name__):
        stored = _load(tmp_path, catalog_digest=catalog_digest(changed))

    assert stored is None
    assert "catalog" in caplog.text
    assert REFIT_COMMAND in caplog.text


def test_a_matrix_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    save_adapter(directory=tmp_path, adapter=_adapter(1), key=KEY)
    assert _load(tmp_path, dimension=DIMENSION * 2) is None


def test_no_stored_adapter_is_not_an_error(tmp_path: Path) -> None:
    assert _load(tmp_path / "never-fitted") is None


def test_the_catalog_digest_follows_labels_not_order_or_descriptions() -> None:
    reordered = list(reversed(ROLES))
    described = [replace(role, description="cares for patients") for role in ROLES]
    relabelled = [replace(ROLES[0], label="nurse"), ROLES[1]]
    assert catalog_digest(reordered) == catalog_digest(ROLES)
    assert catalog_digest(described) == catalog_digest(ROLES)
    assert catalog_digest(relabelled) != catalog_digest(ROLES)


def test_a_refit_replaces_the_previous_matrix(tmp_path: Path) -> None:
    save_adapter(directory=tmp_path, adapter=_adapter(1), key=KEY)
    newer = replace(KEY, approvals=400)
    path = save_adapter(directory=tmp_path, adapter=_adapter(2), key=newer)

    stored = _load(tmp_path)

    assert stored is not None and stored.key == newer
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([MANIFEST, path.name])


def test_a_save_that_fails_midway_leaves_the_previous_adapter_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _adapter(1)
    save_adapter(directory=tmp_path, adapter=old, key=KEY)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def half_a_file(handle: IO[bytes], matrix: np.ndarray, **_: object) -> None:
        handle.write(b"\x93NUMPY half a header")
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", half_a_file)  # adapter_store writes with np.save
    with pytest.raises(OSError, match="disk full"):
        save_adapter(directory=tmp_path, adapter=_adapter(2), key=replace(KEY, approvals=400))
    monkeypatch.undo()

    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    stored = _load(tmp_path)
    assert stored is not None and np.array_equal(stored.adapter.matrix, old.matrix)


def test_a_save_that_fails_before_the_manifest_moves_keeps_the_old_adapter_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _adapter(1)
    save_adapter(directory=tmp_path, adapter=old, key=KEY)
    rename = os.replace

    def crash_on_manifest(source: str, target: Path) -> None:
        if Path(target).name == MANIFEST:
            raise OSError("killed")
        rename(source, target)

    monkeypatch.setattr(os, "replace", crash_on_manifest)  # adapter_store renames with os.replace
    with pytest.raises(OSError, match="killed"):
        save_adapter(directory=tmp_path, adapter=_adapter(2), key=replace(KEY, approvals=400))
    monkeypatch.undo()

    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    stored = _load(tmp_path)
    assert stored is not None and stored.key == KEY
    assert np.array_equal(stored.adapter.matrix, old.matrix)
