"""State and context of the title agent.

The agent runs inside one provisioning step and is never checkpointed on its own: if the
process dies the provisioning step restarts and asks again, which is cheaper than keeping
every model message in the checkpoint tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage
from langchain_core.tools import BaseTool
from langgraph.graph.message import add_messages
from pydantic import BaseModel, Field

from prompts.loader import Prompt
from tools.pii.allowlist import AllowedTerms
from tools.pii.firewall import PIIFirewall
from tools.pii.identity import RecordIdentity


class RoleChoice(BaseModel):
    """The model's final answer, requested as structured output."""

    role_id: str | None = Field(
        description="The chosen role id, exactly as shown in a candidate list; null to abstain."
    )
    confidence: float = Field(ge=0.0, le=1.0, description="Probability the choice is right.")
    rationale: str = Field(description="One or two sentences a reviewer can check.")


class TitleAgentState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    shortlist: list[str]  # role ids shown in the first message
    tool_rounds: int
    attempts: int  # structured answers requested so far
    choice: dict[str, Any] | None
    flags: list[str]
    usage: dict[str, int]
    model_name: str


StructuredMethod = Literal["json_schema", "function_calling"]


@dataclass(frozen=True)
class TitleAgentContext:
    model: BaseChatModel
    tools: Sequence[BaseTool]
    prompt: Prompt
    structured_method: StructuredMethod
    max_tool_rounds: int
    firewall: PIIFirewall
    identity: RecordIdentity
    catalog_terms: AllowedTerms | None = None  # catalog ids and labels: ours, not personal
