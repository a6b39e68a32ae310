"""The provisioning graphs, wired. Per event: load_state -> scrub -> map_roles -> [map_title] ->
infer_skills -> plan -> assess -> [review: interrupt until people decide] -> apply -> record
(or straight to record when a reviewer rejects).

`scrub` runs before any mapping, so an AI mapper only ever receives its scrubbed view; the
seam for `assess`/`review` is between `plan` and `apply`.
"""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents.provisioning import batch_nodes, nodes, review_nodes
from agents.provisioning.node_timing import timed_node
from agents.provisioning.state import BatchState, ProvisioningContext, ProvisioningState

ProvisioningGraph = CompiledStateGraph[
    ProvisioningState, ProvisioningContext, ProvisioningState, ProvisioningState
]
BatchGraph = CompiledStateGraph[BatchState, None, BatchState, BatchState]


def build_provisioning_graph(checkpointer: BaseCheckpointSaver[str]) -> ProvisioningGraph:
    builder = StateGraph(ProvisioningState, context_schema=ProvisioningContext)
    for name, node in (
        ("load_state", nodes.load_state),
        ("scrub", nodes.scrub),
        ("map_roles", nodes.map_roles),
        ("map_title", nodes.map_title),
        ("infer_skills", nodes.infer_skills),
        ("plan", review_nodes.plan),
        ("assess", review_nodes.assess_change),
        ("review", review_nodes.review),
        ("apply", nodes.apply),
        ("record", nodes.record),
    ):
        builder.add_node(name, timed_node(name, node))  # talentsync_node_duration_seconds
    builder.add_edge(START, "load_state")
    builder.add_edge("load_state", "scrub")
    builder.add_edge("scrub", "map_roles")
    builder.add_conditional_edges("map_roles", nodes.after_mapping)
    builder.add_edge("map_title", "infer_skills")
    builder.add_edge("infer_skills", "plan")
    builder.add_edge("plan", "assess")
    builder.add_conditional_edges("assess", review_nodes.after_assess)
    builder.add_conditional_edges("review", review_nodes.after_review)
    builder.add_edge("apply", "record")
    builder.add_edge("record", END)
    return builder.compile(checkpointer=checkpointer, name="provisioning")


def build_batch_graph() -> BatchGraph:
    """The batch lane: decide -> apply -> record over a claimed batch, the same steps as
    above for every event the rules place with no review (see `batch_nodes`). No
    checkpointer: nothing in it is costly to redo, and `apply` never writes twice."""
    builder = StateGraph(BatchState)
    for name, node in (
        ("decide", batch_nodes.decide),
        ("apply", batch_nodes.apply),
        ("record", batch_nodes.record),
    ):
        builder.add_node(name, timed_node(f"batch_{name}", node))
    builder.add_edge(START, "decide")
    builder.add_conditional_edges("decide", batch_nodes.after_decide)
    builder.add_conditional_edges("apply", batch_nodes.after_apply)
    builder.add_edge("record", END)
    return builder.compile(name="provisioning-batch")
