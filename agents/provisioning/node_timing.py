"""Per-node durations of the provisioning graph, measured where the nodes are wired.

A wrapper costs two clock reads and one histogram update per node; LangGraph callbacks
would measure the same but run for every runnable (routing functions included) of every
event. ``functools.wraps`` keeps the node's signature and type hints, which LangGraph reads
to inject the runtime and to infer the node's input schema and routes.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from core.metrics import NODE_DURATION

P = ParamSpec("P")
R = TypeVar("R")


def timed_node(name: str, node: Callable[P, R]) -> Callable[P, R]:
    """``node`` recording its wall time under ``name``, whether it returns, raises or is
    interrupted (a review's interrupt is an exception inside LangGraph)."""
    histogram = NODE_DURATION.labels(node=name)

    @functools.wraps(node)
    def timed(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.perf_counter()
        try:
            return node(*args, **kwargs)
        finally:
            histogram.observe(time.perf_counter() - started)

    return timed
