"""Nodes of the title agent: plain functions of state returning partial updates.

Every model call goes through ``_guarded``: the PII firewall rescans the whole outgoing
conversation first, so nothing that slipped past the scrubber reaches the endpoint.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import openai
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langchain_core.runnables import Runnable
from langgraph.runtime import Runtime
from pydantic import ValidationError

from agents.title_agent.answer_match import (
    AmbiguousAnswerError,
    is_abstention,
    match_answer,
    read_confidence,
)
from agents.title_agent.model_metering import count_call, count_failure
from agents.title_agent.state import RoleChoice, TitleAgentContext, TitleAgentState
from agents.title_agent.structured import StructuredOutputUnsupportedError, refuses_method
from pii.firewall import Channel, FirewallRefusalError

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


def _call(ctx: TitleAgentContext, runnable: Runnable[Any, Any], messages: list[AnyMessage]) -> Any:
    """Every model call, counted whether it answers or fails (a failed call is still a call
    the endpoint served, or timed out on)."""
    try:
        return runnable.invoke(_guarded(messages, ctx))
    except FirewallRefusalError:
        raise  # never sent: not a call
    except Exception:
        ctx.meter.failed()
        count_failure(ctx.model)
        raise


def _accounting(ctx: TitleAgentContext, reply: AIMessage | None) -> dict[str, Any]:
    ctx.meter.record(reply.usage_metadata if reply is not None else None)
    count_call(ctx.model, reply.usage_metadata if reply is not None else None)
    if reply is None:
        return {}
    name = reply.response_metadata.get("model_name") or reply.response_metadata.get("model")
    return {"model_name": str(name)} if name else {}


def agent(state: TitleAgentState, runtime: Runtime[TitleAgentContext]) -> dict[str, Any]:
    """Let the model look around with its tools, within the round budget."""
    ctx = runtime.context
    if state.get("tool_rounds", 0) >= ctx.max_tool_rounds:
        return {}
    reply = _call(ctx, ctx.model.bind_tools(list(ctx.tools)), state["messages"])
    assert isinstance(reply, AIMessage)
    update = _accounting(ctx, reply)
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
    answer = _structured_answer(ctx, _answerable(state["messages"]), _in_shown_order(state))
    raw = answer.get("raw")
    update = _accounting(ctx, raw if isinstance(raw, AIMessage) else None)
    attempts = state.get("attempts", 0) + 1
    update["attempts"] = attempts
    parsed = answer.get("parsed")
    allowed = shown_ids(state)
    verdict = _judge(parsed, allowed, ctx)
    if isinstance(verdict, dict):
        update.update(verdict)
        return update
    flag, wrong = verdict
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


def _in_shown_order(state: TitleAgentState) -> list[str]:
    shortlist = list(state.get("shortlist", []))
    return shortlist + sorted(shown_ids(state) - set(shortlist))


def choice_schema(allowed: list[str]) -> dict[str, Any]:
    """RoleChoice's JSON schema with ``role_id`` limited to the ids shown so far. A server
    that turns schemas into grammars (llama.cpp) or enforces them (OpenAI's json_schema)
    then cannot produce any other id; the check in ``_judge`` still holds for those that
    do not."""
    schema = RoleChoice.model_json_schema()
    role_id = schema["properties"]["role_id"]
    role_id["anyOf"] = [{"type": "string", "enum": allowed}, {"type": "null"}]
    schema["description"] = "The final answer: one role id from the candidates shown, or null."
    return schema


def _structured_answer(
    ctx: TitleAgentContext, messages: list[AnyMessage], allowed: list[str]
) -> dict[str, Any]:
    """The answer by the best method the server still accepts (see ``structured``)."""
    method = ctx.structured.current
    schema = choice_schema(allowed)
    while method is not None:
        structured = ctx.model.with_structured_output(schema, method=method, include_raw=True)
        asked = messages
        if method == "json_mode":
            asked = [*messages, HumanMessage(_json_instruction(ctx))]
        try:
            answer = _call(ctx, structured, asked)
        except openai.APIStatusError as error:
            if not refuses_method(error):
                raise
            method = ctx.structured.refuse(method, error.status_code)
            continue
        assert isinstance(answer, dict)
        return answer
    raise StructuredOutputUnsupportedError(ctx.structured.refused)


def _json_instruction(ctx: TitleAgentContext) -> str:
    """json_mode only promises JSON: which keys to write must be said in words."""
    if "json_answer" in ctx.prompt.sections:
        return ctx.prompt.render("json_answer")
    return _DEFAULT_JSON_ANSWER


_DEFAULT_JSON_ANSWER = (
    'Answer with one JSON object and nothing else: {"role_id": "<a shown role id, or null>", '
    '"confidence": <probability between 0 and 1>, "rationale": "<one sentence>"}'
)


def _judge(
    parsed: object, allowed: set[str], ctx: TitleAgentContext
) -> dict[str, Any] | tuple[str, str]:
    """The accepted choice (a state update), or (flag, what to quote back) to reject it."""
    try:
        parsed = RoleChoice.model_validate(parsed)
    except ValidationError:
        return "unparseable_answer", "(unreadable)"
    confidence = read_confidence(parsed.confidence)
    if confidence is None:
        return "unparseable_answer", "(unreadable)"  # a confidence no probability can be read from
    update: dict[str, Any] = {}
    if confidence.note:
        update["confidence_note"] = confidence.note
    if is_abstention(parsed.role_id):
        choice = parsed.model_copy(update={"role_id": None, "confidence": confidence.value})
        return {**update, "choice": choice.model_dump()}
    assert parsed.role_id is not None
    try:
        match = match_answer(parsed.role_id, {i: ctx.labels.get(i, "") for i in allowed})
    except AmbiguousAnswerError:
        match = None
    if match is None:
        return "invalid_choice", parsed.role_id
    if match.how != "exact":
        update["matched_by"] = f"{match.how}: {parsed.role_id[:80]!r}"
    choice = parsed.model_copy(update={"role_id": match.role_id, "confidence": confidence.value})
    return {**update, "choice": choice.model_dump()}


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
