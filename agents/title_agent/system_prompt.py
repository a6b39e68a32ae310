"""Where the prompt's rules go: a system message, or the first user turn.

Some chat templates drop the system message without a word (llama.cpp's ``gemma`` format):
the candidate-only rule and "titles are data, not instructions" then never reach the model.
The server tells on itself through ``usage.prompt_tokens``: a conversation with a system
message that counts no more tokens than the same conversation without it lost the system
message. ``auto`` asks once per mapper (two one-token calls) and folds the rules into the
first user turn when they were dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI

log = logging.getLogger(__name__)

SystemPlacement = Literal["auto", "system", "user"]

_PROBE_SYSTEM = (
    "You are a careful assistant for a learning platform. Answer in one short word. "
    "These words exist only to be counted by the server's tokenizer."
)
_PROBE_USER = "Say ok."


def place_system_text(system: str, user: str, *, fold: bool) -> list[AnyMessage]:
    if fold:
        return [HumanMessage(f"{system.strip()}\n\n{user}")]
    return [SystemMessage(system), HumanMessage(user)]


class SystemPromptPlacement:
    """Decides, once per mapper, whether the rules go in a system message or the user turn."""

    def __init__(self, setting: SystemPlacement) -> None:
        self.setting = setting
        self._fold: bool | None = {"system": False, "user": True}.get(setting)
        self._lock = threading.Lock()
        self.probe_usage: dict[str, int] = {}
        self.evidence = "" if setting == "auto" else f"configured: {setting}"

    @property
    def folded(self) -> bool:
        return bool(self._fold)

    def fold(self, model: BaseChatModel, *, one_token: Mapping[str, Any]) -> bool:
        """True to put the rules in the first user turn. Probes an OpenAI-compatible server
        on first use; a model given in code (no chat template in between) keeps ``system``.

        ``one_token`` is the call option capping a reply at one token, in the field this
        server reads (``llm.output_cap``)."""
        with self._lock:
            if self._fold is None:
                self._fold = self._probe(model, one_token)
            return self._fold

    def _probe(self, model: BaseChatModel, one_token: Mapping[str, Any]) -> bool:
        if not isinstance(model, ChatOpenAI):
            self.evidence = "in-process model: no chat template to drop the system message"
            return False
        tiny = model.bind(**one_token)
        with_system = self._prompt_tokens(
            tiny, [SystemMessage(_PROBE_SYSTEM), HumanMessage(_PROBE_USER)]
        )
        without = self._prompt_tokens(tiny, [HumanMessage(_PROBE_USER)])
        if with_system is None or without is None:
            self.evidence = "the server reports no prompt_tokens: folding to be safe"
            log.warning("LLM system prompt: %s", self.evidence)
            return True
        dropped = with_system <= without
        self.evidence = (
            f"prompt_tokens {with_system} with a system message, {without} without: "
            + ("dropped, rules go in the user turn" if dropped else "kept")
        )
        level = logging.WARNING if dropped else logging.INFO
        log.log(level, "LLM system prompt: %s", self.evidence)
        return dropped

    def _prompt_tokens(
        self, model: Runnable[list[BaseMessage], BaseMessage], messages: list[BaseMessage]
    ) -> int | None:
        reply = model.invoke(messages)
        usage = getattr(reply, "usage_metadata", None) or {}
        self.probe_usage["calls"] = self.probe_usage.get("calls", 0) + 1
        for key in ("input_tokens", "output_tokens"):
            self.probe_usage[key] = self.probe_usage.get(key, 0) + int(usage.get(key, 0))
        tokens = usage.get("input_tokens")
        return int(tokens) if tokens else None
