"""Where a fitted title adapter is kept between processes, and when it may be used.

Why a key: W (``tools.titles.adapter``) is fitted in one embedder's vector space and pulls
titles towards the label centroids of one catalog. Under another model the matrix is
meaningless, and after a catalog change it aims at centroids that moved or vanished; both
would fail silently (scores still come out, just worse), so a stored adapter names what it
is valid for and is refused, with a warning saying why, for anything else.

Layout: the matrix is ``title-adapter-<key digest>.npy``; ``title-adapter.json`` names the
current one and its key. Each is written under a temporary name and moved into place with
``os.replace`` (matrix first), so a reader sees the old adapter or the new one and never half
a file; a crash before the manifest moves leaves the old adapter current.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO

import numpy as np

from tools.titles.adapter import TitleAdapter
from vectorstore.roles import CatalogRole

logger = logging.getLogger(__name__)

MANIFEST = "title-adapter.json"
REFIT_COMMAND = "talentsync titles fit-adapter"


class AdapterKind(StrEnum):
    """What the matrix learnt from: reviewers' approvals, or the catalog's own labels."""

    memory = "memory"
    catalog = "catalog"


@dataclass(frozen=True)
class AdapterKey:
    """Everything a stored adapter is only valid for (``approvals``: 0 for a catalog fit)."""

    model_id: str
    catalog_digest: str
    kind: AdapterKind
    approvals: int

    @property
    def digest(self) -> str:
        canonical = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class StoredAdapter:
    adapter: TitleAdapter
    """Carries ``key.digest`` as its ``digest``, for provenance."""
    key: AdapterKey
    path: Path


def catalog_digest(roles: Sequence[CatalogRole]) -> str:
    """Order-independent digest of each role's id and labels: exactly what the centroids
    and the approvals' targets are made of (descriptions and groups are not)."""
    digest = hashlib.sha256()
    for role in sorted(roles, key=lambda r: r.role_id):
        digest.update(role.role_id.encode())
        for kind, text in role.labels():
            digest.update(f"\x1f{kind}\x1f{text}".encode())
        digest.update(b"\x1e")
    return digest.hexdigest()[:16]


def save_adapter(*, directory: Path, adapter: TitleAdapter, key: AdapterKey) -> Path:
    """Store ``adapter`` as the current one under ``key``; older matrices are removed."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"title-adapter-{key.digest}.npy"
    matrix = np.ascontiguousarray(adapter.matrix, dtype=np.float32)
    _write_atomically(path, lambda handle: np.save(handle, matrix, allow_pickle=False))
    manifest = {
        "key": asdict(key),
        "digest": key.digest,
        "file": path.name,
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    text = json.dumps(manifest, indent=2, sort_keys=True).encode()
    _write_atomically(directory / MANIFEST, lambda handle: handle.write(text))
    for stale in directory.glob("title-adapter-*.npy"):
        if stale != path:
            stale.unlink(missing_ok=True)
    return path


def load_adapter(
    *, directory: Path, model_id: str, catalog_digest: str, dimension: int
) -> StoredAdapter | None:
    """The current adapter if it was fitted for this embedder and catalog, else None.

    A missing adapter is the normal state before the first fit (logged at info); one that
    exists but does not fit this process is refused with a warning naming the mismatch."""
    if not (directory / MANIFEST).exists():
        logger.info("no title adapter in %s (`%s` fits one)", directory, REFIT_COMMAND)
        return None
    try:
        return _read(directory, model_id=model_id, catalog=catalog_digest, dimension=dimension)
    except _RefusedError as refused:
        logger.warning(
            "title adapter %s not used: %s; refit with `%s`", refused.path, refused, REFIT_COMMAND
        )
        return None


def with_digest(adapter: TitleAdapter, key: AdapterKey) -> TitleAdapter:
    """``adapter`` as it will read back from the store (for provenance right after a fit)."""
    return replace(adapter, digest=key.digest)


class _RefusedError(Exception):
    def __init__(self, path: Path, why: str) -> None:
        super().__init__(why)
        self.path = path


def _read(directory: Path, *, model_id: str, catalog: str, dimension: int) -> StoredAdapter:
    manifest_path = directory / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        fields = manifest["key"]
        key = AdapterKey(
            model_id=str(fields["model_id"]),
            catalog_digest=str(fields["catalog_digest"]),
            kind=AdapterKind(fields["kind"]),
            approvals=int(fields["approvals"]),
        )
        path = directory / str(manifest["file"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise _RefusedError(manifest_path, f"its manifest is unreadable ({error})") from None
    if key.model_id != model_id:
        why = f"it was fitted for embedder {key.model_id}, this process embeds with {model_id}"
        raise _RefusedError(path, why)
    if key.catalog_digest != catalog:
        why = (
            f"it was fitted for catalog {key.catalog_digest}, the catalog's roles and labels "
            f"now digest to {catalog}"
        )
        raise _RefusedError(path, why)
    if manifest.get("digest") != key.digest or path.name != f"title-adapter-{key.digest}.npy":
        raise _RefusedError(path, "its manifest does not match its key")
    try:
        matrix = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise _RefusedError(path, f"its matrix is unreadable ({error})") from None
    if matrix.shape != (dimension, dimension) or not np.issubdtype(matrix.dtype, np.floating):
        why = f"its matrix is {matrix.dtype} {matrix.shape}, not ({dimension}, {dimension})"
        raise _RefusedError(path, why)
    adapter = TitleAdapter(matrix.astype(np.float32), digest=key.digest)
    return StoredAdapter(adapter=adapter, key=key, path=path)


def _write_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write into a temporary file beside ``path``, flush it to disk, then rename it over
    ``path``: the rename is atomic on one filesystem, the temporary file is removed on any
    failure."""
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 -- closed before the rename
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)  # temp files are 0600; the service may run as another user
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
