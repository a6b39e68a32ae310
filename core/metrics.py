"""Every Prometheus metric the service exports, defined once, here, in the lowest layer, so
that the inbox, the LMS client, the graphs and the API all count into the same objects.

Only counters and histograms that cost a few hundred nanoseconds live here: they are
updated on the hot path of every event. What needs the database (inbox depth, pending
reviews) is read at scrape time by ``core.queue_metrics``, never per event. Label values
are bounded sets (statuses, node names, HTTP methods and codes, configured model names):
no receipt ids, no pseudonyms, nothing personal.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram, disable_created_metrics

PREFIX = "talentsync"

# no ``*_created`` series beside each counter and histogram: half the lines, no use here
disable_created_metrics()  # type: ignore[no-untyped-call]

EVENT_OUTCOMES = ("applied", "rejected", "stale", "parked", "retry", "dead")
"""How a worker's attempt at an event ended, as committed to the inbox: ``parked`` waits for
review, ``retry`` is rescheduled with backoff, ``dead`` is a dead letter."""

EVENTS_PROCESSED = Counter(
    f"{PREFIX}_events_processed",
    "Inbox events whose attempt a worker finished, by how it ended.",
    ["outcome"],
)
for _outcome in EVENT_OUTCOMES:  # every series exists from the start, at 0
    EVENTS_PROCESSED.labels(outcome=_outcome)

RUN_DURATION = Histogram(
    f"{PREFIX}_run_duration_seconds",
    "Wall time a worker spent on one claimed event: the provisioning graph run with its "
    "inbox bookkeeping (staleness check, resume, park).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)

NODE_DURATION = Histogram(
    f"{PREFIX}_node_duration_seconds",
    "Wall time of one provisioning graph node, by node (an interrupted review node counts "
    "its time up to the interrupt); the batch lane's steps before apply are timed per event "
    "under the same names, its batch_decide, batch_apply and batch_record per batch.",
    ["node"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

LMS_REQUEST_DURATION = Histogram(
    f"{PREFIX}_lms_request_duration_seconds",
    "SCIM requests to the LMS, each retry counted on its own: time to the response "
    "headers, by HTTP method, resource (Users, Groups, Bulk, other) and status code.",
    ["method", "resource", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

MODEL_CALLS = Counter(
    f"{PREFIX}_model_calls",
    "Chat model calls of the LLM title agent, by configured model and outcome (ok, failed).",
    ["model", "outcome"],
)

MODEL_TOKENS = Counter(
    f"{PREFIX}_model_tokens",
    "Tokens the chat model endpoint reported (usage metadata), by model and kind (input, output).",
    ["model", "kind"],
)
