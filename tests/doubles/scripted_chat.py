"""A chat model that replays a script and records every prompt it was sent.

It speaks LangChain's chat-model interface (tool binding, structured output through tool
calls), so the title agent runs unchanged; the recorded prompts are what a leak test scans.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

_call_ids = itertools.count(1)

Reply = AIMessage | Exception | Callable[[list[BaseMessage], list[str]], AIMessage]
"""A fixed message, an error to raise, or a function of (prompt, names of bound tools)."""


def tool_call(name: str, **args: Any) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[{"name": name, "args": args, "id": f"call_{next(_call_ids)}"}],
        usage_metadata={"input_tokens": 100, "output_tokens": 10, "total_tokens": 110},
    )


def choice(role_id: str | None, confidence: float = 0.9, rationale: str = "fits") -> AIMessage:
    """The structured answer, as a function-calling model gives it."""
    return tool_call("RoleChoice", role_id=role_id, confidence=confidence, rationale=rationale)


class ScriptedChatModel(BaseChatModel):
    script: list[Any] = Field(default_factory=list)  # Reply items; Any keeps pydantic out
    default: Any = None
    prompts: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[list[str]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[Any, AIMessage]:
        schemas = [convert_to_openai_tool(t) for t in tools]
        self.bound_tools.append([s["function"]["name"] for s in schemas])
        return self.bind(tools=schemas, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.prompts.append(list(messages))
        reply = self.script.pop(0) if self.script else self.default
        if reply is None:
            raise AssertionError("the scripted chat model ran out of replies")
        if isinstance(reply, Exception):
            raise reply
        tools = [t["function"]["name"] for t in kwargs.get("tools", [])]
        message = reply(messages, tools) if callable(reply) else reply
        message = message.model_copy(update={"response_metadata": {"model_name": "scripted-1"}})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def prompt_texts(self) -> list[str]:
        return [m.text for prompt in self.prompts for m in prompt]
