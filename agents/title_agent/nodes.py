"""Nodes of the title agent: plain functions of state returning partial updates.

Every model call goes through ``_guarded``: the PII firewall rescans the whole outgoing
conversation first, so nothing that slipped past the scrubber reaches the endpoint.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.runtime import Runtime

from agents.title_agent.state import RoleChoice, TitleAgentContext, TitleAgentState
from tools.pii.firewall import Channel

log = logging.getLogger(__name__)

MAX_ANSWERS = 2
"""A choice outside the shown candidates is rejected and asked again once; then review."""


def shown_ids(state: TitleAgentState) -> set[str]:
    """Ids the model has seen: the shortlist plus what its tools returned."""
    shown = set(state.get("shortlist", []))
    for message in state.get("messages", []):
        if isinstance(message, ToolMessage) and isinstance(message.artifact, list):
            shown.update(str(role_id) for role_id in message.artifact)
    return shown


def _guarded(messages: list[AnyMessage], ctx: TitleAgentContext) -> list[AnyMessage]:
    ctx.firewall.check(
        [m.text for m in messages],
        identity=ctx.identity,
        channel=Channel.model_prompt,
        allowed=ctx.catalog_terms or (),
    )
    return messages


def _accounting(state: TitleAgentState, reply: AIMessage | None) -> dict[str, Any]:
    usage = dict(state.get("usage", {}))
    if reply is None:
        return {"usage": usage}
    for key, value in (reply.usage_metadata or {}).items():
        if isinstance(value, int):
            usage[key] = usage.get(key, 0) + value
    usage["calls"] = usage.get("calls", 0) + 1
    update: dict[str, Any] = {"usage": usage}
    name = reply.response_metadata.get("model_name") or reply.response_metadata.get("model")
    if name:
        update["model_name"] = str(name)
    return update


def agent(state: TitleAgentState, runtime: Runtime[TitleAgentContext]) -> dict[str, Any]:
    """Let the model look around with its tools, within the round budget."""
    ctx = runtime.context
    if state.get("tool_rounds", 0) >= ctx.max_tool_rounds:
        return {}
    reply = ctx.model.bind_tools(list(ctx.tools)).invoke(_guarded(state["messages"], ctx))
    assert isinstance(reply, AIMessage)
    update = _accounting(state, reply)
    if reply.tool_calls:
        update["tool_rounds"] = state.get("tool_rounds", 0) + 1
        update["messages"] = [reply]
    elif reply.text:  # its thinking so far; a bare reply without tool calls adds nothing
        update["messages"] = [reply]
    return update


def run_tools(state: TitleAgentState, runtime: Runtime[TitleAgentContext]) -> dict[str, Any]:
    by_name = {tool.name: tool for tool in runtime.context.tools}
    last = state["messages"][-1]
    assert isinstance(last, AIMessage)
    results: list[AnyMessage] = []
    for call in last.tool_calls:
        tool = by_name.get(call["name"])
        if tool is None:
            results.append(
                ToolMessage(f"No tool named {call['name']!r}.", tool_call_id=call["id"] or "")
            )
            continue
        try:
            results.append(tool.invoke(call))
        except Exception as error:  # a tool's failure is the model's information, not ours
            log.warning("title agent tool %s failed: %s", call["name"], type(error).__name__)
            results.append(
                ToolMessage(f"Tool failed: {error}", tool_call_id=call["id"] or "", status="error")
            )
    return {"messages": results}


def decide(state: TitleAgentState, runtime: Runtime[TitleAgentContext]) -> dict[str, Any]:
    """Ask for the structured choice and hold it to the candidates the model was shown."""
    ctx = runtime.context
    structured = ctx.model.with_structured_output(
        RoleChoice, method=ctx.structured_method, include_raw=True
    )
    answer = structured.invoke(_guarded(_answerable(state["messages"]), ctx))
    assert isinstance(answer, dict)
    raw = answer.get("raw")
    update = _accounting(state, raw if isinstance(raw, AIMessage) else None)
    attempts = state.get("attempts", 0) + 1
    update["attempts"] = attempts
    parsed = answer.get("parsed")
    allowed = shown_ids(state)
    if isinstance(parsed, RoleChoice) and (parsed.role_id is None or parsed.role_id in allowed):
        update["choice"] = parsed.model_dump()
        return update
    flag = "invalid_choice" if isinstance(parsed, RoleChoice) else "unparseable_answer"
    wrong = parsed.role_id if isinstance(parsed, RoleChoice) else "(unreadable)"
    log.info("title agent answer rejected (%s), attempt %d", flag, attempts)
    if attempts >= MAX_ANSWERS:
        update["choice"] = None
        update["flags"] = [*state.get("flags", []), flag]
        return update
    update["flags"] = [*state.get("flags", []), f"retried_{flag}"]
    update["messages"] = [
        HumanMessage(ctx.prompt.render("retry", role_id=wrong, allowed=", ".join(sorted(allowed))))
    ]
    return update


def _answerable(messages: list[AnyMessage]) -> list[AnyMessage]:
    """A trailing reply with tool calls has no answers yet; endpoints reject that history."""
    if messages and isinstance(messages[-1], AIMessage) and messages[-1].tool_calls:
        return messages[:-1]
    return messages


def after_agent(state: TitleAgentState) -> Literal["tools", "decide"]:
    last = state["messages"][-1]
    if isinstance(last, AIMessage) and last.tool_calls:
        return "tools"
    return "decide"


def after_decide(state: TitleAgentState) -> Literal["decide", "__end__"]:
    return "__end__" if "choice" in state else "decide"
