"""Model calls and tokens as Prometheus counters, by the configured model name.

The per-title ``CallMeter`` goes into the outcome's provenance; these counters are the
same numbers summed over the process, for dashboards and cost alerts. The label is the
model the service is configured with (a bounded set), not what a server says it ran.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel

from core.metrics import MODEL_CALLS, MODEL_TOKENS

TOKEN_KINDS = ("input_tokens", "output_tokens")


def model_label(model: BaseChatModel) -> str:
    name = getattr(model, "model_name", None) or getattr(model, "model", None)
    return str(name) if name else type(model).__name__


def count_call(model: BaseChatModel, usage: Mapping[str, Any] | None) -> None:
    label = model_label(model)
    MODEL_CALLS.labels(model=label, outcome="ok").inc()
    for key in TOKEN_KINDS:
        value = (usage or {}).get(key)
        if isinstance(value, int) and value > 0:
            MODEL_TOKENS.labels(model=label, kind=key.removesuffix("_tokens")).inc(value)


def count_failure(model: BaseChatModel) -> None:
    MODEL_CALLS.labels(model=model_label(model), outcome="failed").inc()
