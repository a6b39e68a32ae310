"""State and context of the title agent.

The agent runs inside one provisioning step and is never checkpointed on its own: if the
process dies the provisioning step restarts and asks again, which is cheaper than keeping
every model message in the checkpoint tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage
from langchain_core.tools import BaseTool
from langgraph.graph.message import add_messages
from pydantic import BaseModel, Field

from agents.title_agent.structured import StructuredLadder, StructuredMethod
from pii.allowlist import AllowedTerms
from pii.firewall import PIIFirewall
from pii.identity import RecordIdentity
from prompts.loader import Prompt


class RoleChoice(BaseModel):
    """The model's final answer, requested as structured output.

    Parsed leniently on purpose: ``role_id`` is matched to the shown candidates and
    ``confidence`` brought into [0, 1] afterwards (``answer_match``), so an answer a person
    would accept ("29-1141" for ``role-29-1141``, a confidence of 85 meaning 85 %) is judged
    on what it says instead of failing the schema."""

    role_id: str | None = Field(
        description="The chosen role id, exactly as shown in a candidate list; null to abstain."
    )
    confidence: float = Field(description="Probability, between 0 and 1, the choice is right.")
    rationale: str = Field(
        description="One or two sentences a reviewer can check.",
        # in the schema only: a server that turns the schema into a grammar (llama.cpp) stops
        # a rambling model before the output cap cuts its JSON in half; never a reason to
        # refuse a longer answer (it is cut to 500 characters when kept)
        json_schema_extra={"maxLength": 160},
    )


@dataclass
class CallMeter:
    """Model calls and tokens of one title, kept outside the graph state so that the calls
    made before a failing one are still counted when the failure escapes the graph."""

    calls: int = 0
    failed_calls: int = 0
    tokens: dict[str, int] = field(default_factory=dict)

    def record(self, usage: Mapping[str, Any] | None) -> None:
        self.calls += 1
        for key, value in (usage or {}).items():
            if isinstance(value, int):
                self.tokens[key] = self.tokens.get(key, 0) + value

    def failed(self) -> None:
        self.calls += 1
        self.failed_calls += 1

    def as_usage(self) -> dict[str, int]:
        return {**self.tokens, "calls": self.calls, "failed_calls": self.failed_calls}


class TitleAgentState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    shortlist: list[str]  # role ids shown in the first message
    tool_rounds: int
    attempts: int  # structured answers requested so far
    choice: dict[str, Any] | None
    flags: list[str]
    model_name: str
    matched_by: str  # how the answer was matched to a shown id, when not exactly
    confidence_note: str  # how an out-of-range confidence was read


__all__ = [
    "CallMeter",
    "RoleChoice",
    "StructuredLadder",
    "StructuredMethod",
    "TitleAgentContext",
    "TitleAgentState",
]


@dataclass(frozen=True)
class TitleAgentContext:
    model: BaseChatModel
    tools: Sequence[BaseTool]
    prompt: Prompt
    structured: StructuredLadder
    max_tool_rounds: int
    firewall: PIIFirewall
    identity: RecordIdentity
    meter: CallMeter
    labels: Mapping[str, str] = field(default_factory=dict)  # role id -> label, to match answers
    catalog_terms: AllowedTerms | None = None  # catalog ids and labels: ours, not personal
