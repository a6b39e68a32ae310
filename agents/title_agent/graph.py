"""The title agent, wired: agent <-> tools, then decide (retried once on a bad id)."""

from __future__ import annotations

from functools import cache

from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents.title_agent import nodes
from agents.title_agent.state import TitleAgentContext, TitleAgentState

TitleAgentGraph = CompiledStateGraph[
    TitleAgentState, TitleAgentContext, TitleAgentState, TitleAgentState
]


@cache
def build_title_agent() -> TitleAgentGraph:
    builder = StateGraph(TitleAgentState, context_schema=TitleAgentContext)
    builder.add_node("agent", nodes.agent)
    builder.add_node("tools", nodes.run_tools)
    builder.add_node("decide", nodes.decide)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", nodes.after_agent)
    builder.add_edge("tools", "agent")
    builder.add_conditional_edges("decide", nodes.after_decide)
    # never checkpointed, not even inside the provisioning graph's checkpointed run
    return builder.compile(checkpointer=False, name="title_agent")
