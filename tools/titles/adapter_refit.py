"""Refitting the stored title adapter: what to learn it from, then fit, key and save it.

Why a separate, explicit step: a fit takes seconds (a few hundred approvals) to minutes (a
large catalog, thousands of approvals) of full-batch optimisation, far too slow for the
request path or for every approval, and a matrix that changes under a running service
would make its decisions hard to replay. An operator (or a schedule) refits after a batch
of approvals or a catalog change; the service uses the result from its next start.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from tools.titles.adapter_store import (
    AdapterKey,
    AdapterKind,
    catalog_digest,
    save_adapter,
    with_digest,
)
from tools.titles.ranker import TitleRanker
from vectorstore.roles import CatalogRole

logger = logging.getLogger(__name__)


class AdapterSource(StrEnum):
    """What the operator asks to learn from; ``auto`` decides by the approvals at hand."""

    auto = "auto"
    memory = "memory"
    catalog = "catalog"


@dataclass(frozen=True)
class AdapterFit:
    key: AdapterKey
    path: Path
    seconds: float
    memory_size: int
    """Approvals loaded, whether or not the fit learnt from them."""


def choose_kind(*, source: AdapterSource, approvals: int, min_approvals: int) -> AdapterKind:
    """``auto`` learns from approvals once there are ``min_approvals`` of them, else from
    the catalog; an explicit ``memory`` is honoured with any non-zero number.

    Why the default of 600 (``TALENTSYNC_TITLE_ADAPTER_MIN_APPROVALS``): a 384x384 matrix
    learnt from a few hundred titles has seen too few roles to generalise, while the catalog
    adapter learnt from 12k labels covers them all. Measured with the warm adapted profile on
    2,000 JobBERT queries against ESCO (2,942 roles), memory = the first N approvals of half
    A, MRR catalog vs memory adapter: N=200 0.448 vs 0.430, 400 0.472 vs 0.463, 500 0.478 vs
    0.475, 600 0.477 vs 0.478, 800 0.475 vs 0.482, 3,865 0.512 vs 0.540. The queries were
    rows of half B, which ``evals.fitting.titles`` reports on: a round number where the two cross,
    not a fit. A catalog with far fewer roles needs fewer approvals per role seen."""
    if source is AdapterSource.catalog:
        return AdapterKind.catalog
    if source is AdapterSource.memory:
        if approvals == 0:
            raise ValueError("no approved mappings to learn an adapter from")
        return AdapterKind.memory
    return AdapterKind.memory if approvals >= min_approvals else AdapterKind.catalog


def refit_adapter(
    *,
    ranker: TitleRanker,
    roles: Sequence[CatalogRole],
    directory: Path,
    source: AdapterSource,
    min_approvals: int,
) -> AdapterFit:
    """Fit from the ranker's approved memory or from its catalog labels, save it keyed by
    the ranker's embedder, ``roles`` (the ones the ranker was built on) and the approvals
    used, and set it on the ranker as it will read back from the store."""
    kind = choose_kind(source=source, approvals=ranker.memory_size, min_approvals=min_approvals)
    approvals = ranker.memory_size if kind is AdapterKind.memory else 0
    logger.info("fitting a %s title adapter (%d approvals)", kind.value, approvals)
    started = time.perf_counter()
    adapter = ranker.fit_adapter() if kind is AdapterKind.memory else ranker.fit_catalog_adapter()
    seconds = time.perf_counter() - started
    key = AdapterKey(
        model_id=ranker.embedder.model_id,
        catalog_digest=catalog_digest(roles),
        kind=kind,
        approvals=approvals,
    )
    path = save_adapter(directory=directory, adapter=adapter, key=key)
    ranker.adapter = with_digest(adapter, key)
    logger.info("title adapter %s saved to %s (%.1f s)", key.digest, path, seconds)
    return AdapterFit(key=key, path=path, seconds=seconds, memory_size=ranker.memory_size)
