"""LLM title mapping through any OpenAI-compatible endpoint (langchain-openai ``ChatOpenAI``).

The model never picks from the whole catalog: it is shown a shortlist from the embedded
ranker and may widen it only through its tools, and the agent refuses any id it was not
shown. What it sees is the scrubbed model view, and every call passes the PII firewall.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from agents.title_agent.graph import build_title_agent
from agents.title_agent.nodes import shown_ids
from agents.title_agent.state import (
    RoleChoice,
    StructuredMethod,
    TitleAgentContext,
    TitleAgentState,
)
from core.settings import Settings
from prompts.loader import Prompt, load_prompt
from tools.mapping.catalog_tools import candidate_lines, make_catalog_tools
from tools.mapping.embedded import EmbeddedTitleMapper, adapter_digest
from tools.mapping.errors import LLMUnavailableError
from tools.mapping.role_directory import RoleDirectory
from tools.mapping.suggestion import RoleSuggestion
from tools.pii.firewall import FirewallRefusalError, PIIFirewall
from tools.pii.identity import RecordIdentity
from vectorstore.memory import ApprovedMemory

log = logging.getLogger(__name__)

_TRANSIENT = (
    openai.APITimeoutError,
    openai.APIConnectionError,
    openai.RateLimitError,
    openai.InternalServerError,
)


def chat_model_from_settings(settings: Settings) -> ChatOpenAI:
    if not settings.llm_base_url and settings.llm_api_key is None:
        raise ValueError(
            "title_mapper=llm needs TALENTSYNC_LLM_BASE_URL (any OpenAI-compatible server) "
            "or TALENTSYNC_LLM_API_KEY (api.openai.com)"
        )
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "unused"
    return ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=key,
        timeout=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
        temperature=0,
    )


class LLMTitleMapper:
    name = "llm"

    def __init__(
        self,
        *,
        model: BaseChatModel,
        directory: RoleDirectory,
        embedded: EmbeddedTitleMapper,
        memory: ApprovedMemory | None,
        firewall: PIIFirewall,
        prompt: Prompt,
        structured_method: StructuredMethod = "function_calling",
        max_tool_rounds: int = 3,
    ) -> None:
        self.model = model
        self.directory = directory
        self.embedded = embedded
        self.firewall = firewall
        self.prompt = prompt
        self.structured_method = structured_method
        self.max_tool_rounds = max_tool_rounds
        self.tools = make_catalog_tools(directory=directory, embedded=embedded, memory=memory)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        directory: RoleDirectory,
        embedded: EmbeddedTitleMapper,
        memory: ApprovedMemory | None,
        firewall: PIIFirewall,
        model: BaseChatModel | None = None,
    ) -> LLMTitleMapper:
        return cls(
            model=model or chat_model_from_settings(settings),
            directory=directory,
            embedded=embedded,
            memory=memory,
            firewall=firewall,
            prompt=load_prompt(settings.llm_prompt),
            structured_method=settings.llm_structured_output,
            max_tool_rounds=settings.llm_max_tool_rounds,
        )

    def suggest(
        self, title: str, *, department: str | None, identity: RecordIdentity
    ) -> RoleSuggestion:
        shortlist, _ = self.embedded.candidates(title)
        messages: list[AnyMessage] = [
            SystemMessage(self.prompt.render("system")),
            HumanMessage(
                self.prompt.render(
                    "user",
                    title=title,
                    department=department or "-",
                    candidates=candidate_lines(shortlist),
                )
            ),
        ]
        context = TitleAgentContext(
            model=self.model,
            tools=self.tools,
            prompt=self.prompt,
            structured_method=self.structured_method,
            max_tool_rounds=self.max_tool_rounds,
            firewall=self.firewall,
            identity=identity,
            catalog_terms=self.directory.vocabulary,
        )
        base = RoleSuggestion(
            title=title, role_id=None, confidence=0.0, rationale="", candidates=shortlist
        )
        try:
            start: TitleAgentState = {
                "messages": messages,
                "shortlist": [c.role_id for c in shortlist],
            }
            final = build_title_agent().invoke(start, context=context)
        except FirewallRefusalError as refused:
            return base.model_copy(
                update={
                    "rationale": "not sent to the model: the PII firewall refused the prompt",
                    "flags": ["pii_refusal"],
                    "provenance": self._provenance({}, refusal=refused.refusal.as_dict()),
                }
            )
        except _TRANSIENT as error:
            raise LLMUnavailableError(
                f"LLM endpoint unavailable: {type(error).__name__}"
            ) from error
        except openai.APIStatusError as error:  # 4xx: this request, not the endpoint, is at fault
            status = error.status_code
            log.warning("LLM refused the request: HTTP %s", status)
            return base.model_copy(
                update={
                    "rationale": f"the model endpoint refused the request (HTTP {status})",
                    "flags": ["llm_error"],
                    "provenance": self._provenance({}),
                }
            )
        return self._suggestion(base, final)

    def _suggestion(self, base: RoleSuggestion, final: dict[str, Any]) -> RoleSuggestion:
        raw_choice = final.get("choice")
        flags = [f for f in final.get("flags", []) if not f.startswith("retried_")]
        provenance = self._provenance(final)
        if raw_choice is None:
            return base.model_copy(
                update={
                    "rationale": "the model did not name a candidate it was shown",
                    "flags": flags,
                    "provenance": provenance,
                }
            )
        choice = RoleChoice.model_validate(raw_choice)
        if choice.role_id is None:
            flags.append("model_abstained")
        return base.model_copy(
            update={
                "role_id": choice.role_id,
                "confidence": choice.confidence,
                "rationale": choice.rationale.strip()[:500],
                "evidence": [f"candidate: {choice.role_id}"] if choice.role_id else [],
                "flags": flags,
                "provenance": provenance,
            }
        )

    def _provenance(self, final: dict[str, Any], **extra: Any) -> dict[str, Any]:
        configured = getattr(self.model, "model_name", None) or type(self.model).__name__
        return {
            "mapper": self.name,
            "model": final.get("model_name") or configured,
            "prompt": self.prompt.ref,
            "structured_output": self.structured_method,
            "usage": final.get("usage", {}),
            "tool_rounds": final.get("tool_rounds", 0),
            "answers": final.get("attempts", 0),
            "shown": sorted(shown_ids(cast(TitleAgentState, final))) if final else [],
            "shortlist_adapter": adapter_digest(self.embedded.ranker),
            **extra,
        }
