"""The batch lane's nodes: the provisioning graph's own steps, run for every event of a
claimed batch, with the round trips paid once per batch instead of once per event (the
LMS accounts read in one search, the users and then the group memberships written in one
``POST /Bulk`` each, the
inbox rows, cursors and audit entries committed in one transaction).

Only what the catalog rules place and nothing holds for review stays in the batch: an event
that needs a model's answer or a person's is handed over before either is asked, and
finishes on a graph run of its own (`agents.provisioning.graph`), with its checkpoints and
its review interrupt. One event's trouble (the LMS refusing its user, a firewall refusal
that raises) fails that event alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

from langgraph.runtime import Runtime

from agents.provisioning import nodes, review_nodes
from agents.provisioning.node_timing import timed_node
from agents.provisioning.nodes import GroupChange
from agents.provisioning.state import BatchRun, BatchState
from core import inbox, vault
from tools.lms.errors import LMSError
from tools.lms.models import LMSAccount, UserWrite

log = logging.getLogger(__name__)

Step = Callable[..., dict[str, Any]]


def _timed(*steps: tuple[str, Step]) -> tuple[Step, ...]:
    """Each step timed per event under its name in the graph, as a run of its own is."""
    return tuple(timed_node(name, step) for name, step in steps)


_BEFORE_ROUTING = _timed(
    ("load_state", nodes.load_state), ("scrub", nodes.scrub), ("map_roles", nodes.map_roles)
)
_AFTER_ROUTING = _timed(
    ("infer_skills", nodes.infer_skills),
    ("plan", review_nodes.plan),
    ("assess", review_nodes.assess_change),
)


def _step(run: BatchRun, step: Step) -> None:
    update = step(run.state, Runtime(context=run.context))
    run.state = {**run.state, **update}  # type: ignore[typeddict-item]


def _placed_by_rules(run: BatchRun) -> bool:
    """Run the steps up to `apply`; ``False`` as soon as the graph would route the event to
    a model (`map_title`) or to people (`review`)."""
    for step in _BEFORE_ROUTING:
        _step(run, step)
    if nodes.after_mapping(run.state, Runtime(context=run.context)) != "infer_skills":
        return False
    for step in _AFTER_ROUTING:
        _step(run, step)
    return review_nodes.after_assess(run.state) == "apply"


def decide(state: BatchState) -> dict[str, Any]:
    """Each event up to the seam before `apply`, as the graph would take it."""
    kept: list[BatchRun] = []
    handed_over, failed = list(state.get("handed_over", [])), list(state.get("failed", []))
    for run in state["runs"]:
        try:
            with run.ids():
                placed = _placed_by_rules(run)
        except Exception as error:  # the worker's retry policy sorts it
            failed.append((run, error))
            continue
        (kept if placed else handed_over).append(run)
    try:
        _store_sealed(state["runs"])
    except Exception as error:  # the worker's retry policy sorts it
        return {
            "runs": [],
            "handed_over": [],
            "failed": failed + [(r, error) for r in kept + handed_over],
        }
    return {"runs": kept, "handed_over": handed_over, "failed": failed}


def after_decide(state: BatchState) -> Literal["apply", "__end__"]:
    return "apply" if state.get("runs") else "__end__"


def _store_sealed(runs: list[BatchRun]) -> None:
    """The placeholders the runs' scrub steps sealed, stored in one go before anything is
    written to the LMS; from here on (a handed-over run scrubs again) each is stored at
    once."""
    if not runs:
        return
    shared, services = runs[0].context.shared, runs[0].context.services
    pending, shared.sealings = shared.sealings or [], None
    vault.store_many(services.engine, master_key=services.vault_keys.master, items=pending)


def apply(state: BatchState) -> dict[str, Any]:
    """Every run's user in one ``write_users_many`` (as few ``POST /Bulk`` as the LMS
    allows), then every run's group changes the same way."""
    failed = list(state.get("failed", []))
    wanted: list[tuple[BatchRun, UserWrite]] = []
    for run in state["runs"]:
        with run.ids():
            try:
                wanted.append((run, nodes.user_write(run.context, run.state)))
            except Exception as error:  # the worker's retry policy sorts it
                failed.append((run, error))
    users, refused_users = _write_users(wanted)
    failed.extend(refused_users)
    written: list[tuple[BatchRun, GroupChange | None, int]] = []
    for run, account, user_writes in users:
        with run.ids():
            try:
                change = (
                    None if account is None else nodes.group_change(run.context, run.state, account)
                )
            except Exception as error:  # the worker's retry policy sorts it
                failed.append((run, error))
                continue
        written.append((run, change, user_writes))
    changes = [(run, change) for run, change, _ in written if change is not None]
    refused = _change_memberships(changes)
    kept: list[BatchRun] = []
    for run, change, user_writes in written:
        if run.context.claim.receipt_id in refused:
            failed.append((run, refused[run.context.claim.receipt_id]))
            continue
        if change is None:
            run.state = {**run.state, "applied": nodes.NOT_IN_LMS}
        else:
            writes = user_writes + len(change.added) + len(change.removed)
            run.state = {
                **run.state,
                "applied": nodes.applied_change(run.state, change, writes=writes),
            }
        kept.append(run)
    return {"runs": kept, "failed": failed}


def after_apply(state: BatchState) -> Literal["record", "__end__"]:
    return "record" if state.get("runs") else "__end__"


def _write_users(
    wanted: list[tuple[BatchRun, UserWrite]],
) -> tuple[list[tuple[BatchRun, LMSAccount | None, int]], list[tuple[BatchRun, Exception]]]:
    """All runs' users in one call: each run's account (``None``: a leaver never in the
    LMS) and the writes the LMS took for it; a run whose own write was refused fails
    alone, and when the LMS cannot be reached at all, every run does."""
    if not wanted:
        return [], []
    lms = wanted[0][0].context.services.lms
    try:
        results = lms.write_users_many([write for _, write in wanted])
    except Exception as error:  # the worker's retry policy sorts it
        return [], [(run, error) for run, _ in wanted]
    written: list[tuple[BatchRun, LMSAccount | None, int]] = []
    refused: list[tuple[BatchRun, Exception]] = []
    for (run, _), result, writes in zip(wanted, results, results.writes, strict=True):
        if isinstance(result, LMSError):
            refused.append((run, result))
        else:
            written.append((run, result, writes))
    return written, refused


def _change_memberships(changes: list[tuple[BatchRun, GroupChange]]) -> dict[str, Exception]:
    """All runs' membership changes together; if the LMS refuses any of them, each run's
    again on its own (adding a member twice or removing a non-member changes nothing), so
    only the runs whose own change fails are failed."""
    wanted = [(c.user_id, c.add_ids, c.remove_ids) for _, c in changes if c.add_ids or c.remove_ids]
    if not wanted:
        return {}
    lms = changes[0][0].context.services.lms
    try:
        lms.change_memberships_many(wanted)
        return {}
    except LMSError:
        log.info("a batch's membership changes were refused; trying them one run at a time")
    refused: dict[str, Exception] = {}
    for run, change in changes:
        try:
            with run.ids():
                lms.change_memberships(change.user_id, add=change.add_ids, remove=change.remove_ids)
        except Exception as error:  # the worker's retry policy sorts it
            refused[run.context.claim.receipt_id] = error
    return refused


def record(state: BatchState) -> dict[str, Any]:
    """Every run's outcome, cursor and audit entries in one commit."""
    failed = list(state.get("failed", []))
    done: list[inbox.Completion] = []
    reasoning = state["runs"][0].context.services.reasoning
    with reasoning.held():  # every run's decision reasoning queued in one commit
        for run in state["runs"]:
            try:
                with run.ids():
                    done.append(nodes.completion(run.context, run.state))
            except Exception as error:  # the worker's retry policy sorts it
                failed.append((run, error))
    if not done:
        return {"finished": [], "failed": failed}
    engine = state["runs"][0].context.services.engine
    lost = {c.receipt_id for c in inbox.complete_many(engine, completions=done)}
    by_receipt = {run.context.claim.receipt_id: run for run in state["runs"]}
    for completion in done:
        with by_receipt[completion.claim.receipt_id].ids():
            if completion.claim.receipt_id in lost:
                log.warning(
                    "lost the lease on %s; another worker owns it now", completion.claim.receipt_id
                )
            else:
                nodes.log_finished(completion)
    return {
        "finished": [c.claim.receipt_id for c in done if c.claim.receipt_id not in lost],
        "failed": failed,
    }
