"""LLM title mapping through any OpenAI-compatible endpoint (langchain-openai ``ChatOpenAI``).

The model never picks from the whole catalog: it is shown a shortlist from the embedded
ranker and may widen it only through its tools, and the agent refuses any id it was not
shown. What it sees is the scrubbed model view, and every call passes the PII firewall.
"""

from __future__ import annotations

import logging
from typing import Any, cast
from urllib.parse import urlsplit

import openai
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from agents.title_agent.graph import build_title_agent
from agents.title_agent.nodes import shown_ids
from agents.title_agent.state import (
    CallMeter,
    RoleChoice,
    StructuredLadder,
    StructuredMethod,
    TitleAgentContext,
    TitleAgentState,
)
from agents.title_agent.structured import StructuredOutputUnsupportedError, is_context_overflow
from agents.title_agent.system_prompt import (
    SystemPlacement,
    SystemPromptPlacement,
    place_system_text,
)
from agents.title_agent.tools import candidate_lines, make_catalog_tools
from core.settings import Settings
from pii.firewall import FirewallRefusalError, PIIFirewall
from pii.identity import RecordIdentity
from prompts.loader import Prompt, load_prompt
from tools.mapping.embedded import EmbeddedTitleMapper, adapter_digest
from tools.mapping.errors import LLMUnavailableError
from tools.mapping.role_directory import RoleDirectory
from tools.mapping.suggestion import RoleSuggestion
from vectorstore.memory import ApprovedMemory

log = logging.getLogger(__name__)

_TRANSIENT = (
    openai.APITimeoutError,
    openai.APIConnectionError,
    openai.RateLimitError,
    openai.InternalServerError,
)


def output_cap_field(settings: Settings) -> str:
    """The request field a server reads the output cap from. langchain-openai sends
    ``max_tokens`` as ``max_completion_tokens``, which llama.cpp ignores; OpenAI refuses a
    request that carries both."""
    if settings.llm_max_tokens_field != "auto":
        return settings.llm_max_tokens_field
    host = urlsplit(settings.llm_base_url or "https://api.openai.com/v1").hostname or ""
    return "max_completion_tokens" if host.endswith("openai.com") else "max_tokens"


def output_cap(field: str, tokens: int) -> dict[str, Any]:
    """Call options capping a reply at ``tokens`` in ``field``: ChatOpenAI's own max_tokens
    (sent as max_completion_tokens), or max_tokens put in the body as it is."""
    if field == "max_completion_tokens":
        return {"max_tokens": tokens}
    return {"extra_body": {"max_tokens": tokens}}


def chat_model_from_settings(settings: Settings) -> ChatOpenAI:
    if not settings.llm_base_url and settings.llm_api_key is None:
        raise ValueError(
            "title_mapper=llm needs TALENTSYNC_LLM_BASE_URL (any OpenAI-compatible server) "
            "or TALENTSYNC_LLM_API_KEY (api.openai.com)"
        )
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "unused"
    cap = output_cap(output_cap_field(settings), settings.llm_max_output_tokens)
    return ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=key,
        timeout=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
        temperature=0,
        **cap,
    )


def _transient_kind(error: Exception) -> str:
    if isinstance(error, openai.APITimeoutError):
        return "timeout"
    if isinstance(error, openai.RateLimitError):
        return "rate_limited"
    return "unavailable"


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
        system_prompt: SystemPlacement = "system",
        one_token: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.directory = directory
        self.embedded = embedded
        self.firewall = firewall
        self.prompt = prompt
        self.structured = StructuredLadder(structured_method)
        self.max_tool_rounds = max_tool_rounds
        self.system_prompt = SystemPromptPlacement(system_prompt)
        self.one_token = one_token or output_cap("max_tokens", 1)
        self.tools = make_catalog_tools(directory=directory, embedded=embedded, memory=memory)
        self.labels = {role.role_id: role.label for role in directory.roles}

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
            system_prompt=settings.llm_system_prompt,
            one_token=output_cap(output_cap_field(settings), 1),
        )

    @property
    def structured_method(self) -> StructuredMethod | None:
        """The method now in use (after any failover)."""
        return self.structured.current

    def suggest(
        self, title: str, *, department: str | None, identity: RecordIdentity
    ) -> RoleSuggestion:
        shortlist, _ = self.embedded.candidates(title)
        meter = CallMeter()
        base = RoleSuggestion(
            title=title, role_id=None, confidence=0.0, rationale="", candidates=shortlist
        )
        try:
            fold = self.system_prompt.fold(self.model, one_token=self.one_token)
            messages = place_system_text(
                self.prompt.render("system"),
                self.prompt.render(
                    "user",
                    title=title,
                    department=department or "-",
                    candidates=candidate_lines(shortlist),
                ),
                fold=fold,
            )
            context = TitleAgentContext(
                model=self.model,
                tools=self.tools,
                prompt=self.prompt,
                structured=self.structured,
                max_tool_rounds=self.max_tool_rounds,
                firewall=self.firewall,
                identity=identity,
                meter=meter,
                labels=self.labels,
                catalog_terms=self.directory.vocabulary,
            )
            start: TitleAgentState = {
                "messages": messages,
                "shortlist": [c.role_id for c in shortlist],
            }
            final = build_title_agent().invoke(start, context=context)
        except FirewallRefusalError as refused:
            return self._failed(
                base,
                meter,
                kind="pii_refusal",
                flag="pii_refusal",
                rationale="not sent to the model: the PII firewall refused the prompt",
                refusal=refused.refusal.as_dict(),
            )
        except StructuredOutputUnsupportedError as unsupported:
            log.warning("LLM title mapping: %s", unsupported)
            return self._failed(
                base,
                meter,
                kind="unsupported_method",
                flag="llm_error",
                rationale=str(unsupported),
            )
        except _TRANSIENT as error:
            kind = _transient_kind(error)
            raise LLMUnavailableError(
                f"LLM endpoint unavailable: {type(error).__name__}",
                kind=kind,
                usage=meter.as_usage(),
            ) from error
        except openai.APIStatusError as error:  # 4xx: this request, not the endpoint, is at fault
            status = error.status_code
            log.warning("LLM refused the request: HTTP %s", status)
            return self._failed(
                base,
                meter,
                kind="context_overflow" if is_context_overflow(error) else "http_error",
                flag="llm_error",
                rationale=f"the model endpoint refused the request (HTTP {status})",
                http_status=status,
            )
        return self._suggestion(base, final, meter)

    def _failed(
        self,
        base: RoleSuggestion,
        meter: CallMeter,
        *,
        kind: str,
        flag: str,
        rationale: str,
        **extra: Any,
    ) -> RoleSuggestion:
        return base.model_copy(
            update={
                "rationale": rationale,
                "flags": [flag],
                "provenance": self._provenance({}, meter, failure=kind, **extra),
            }
        )

    def _suggestion(
        self, base: RoleSuggestion, final: dict[str, Any], meter: CallMeter
    ) -> RoleSuggestion:
        raw_choice = final.get("choice")
        flags = [f for f in final.get("flags", []) if not f.startswith("retried_")]
        if raw_choice is None:
            kind = "off_candidate" if "invalid_choice" in flags else "unparseable"
            return base.model_copy(
                update={
                    "rationale": "the model did not name a candidate it was shown",
                    "flags": flags,
                    "provenance": self._provenance(final, meter, failure=kind),
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
                "provenance": self._provenance(final, meter),
            }
        )

    def _provenance(self, final: dict[str, Any], meter: CallMeter, **extra: Any) -> dict[str, Any]:
        configured = getattr(self.model, "model_name", None) or type(self.model).__name__
        read = {k: final[k] for k in ("matched_by", "confidence_note") if final.get(k)}
        return {
            "mapper": self.name,
            "model": final.get("model_name") or configured,
            "prompt": self.prompt.ref,
            "structured_output": self.structured.current,
            "system_prompt": "user" if self.system_prompt.folded else "system",
            "usage": meter.as_usage(),
            "tool_rounds": final.get("tool_rounds", 0),
            "answers": final.get("attempts", 0),
            "shown": sorted(shown_ids(cast(TitleAgentState, final))) if final else [],
            "shortlist_adapter": adapter_digest(self.embedded.ranker),
            **read,
            **extra,
        }
