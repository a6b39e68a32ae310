"""Webhook delivery as senders really behave: retried duplicates and late arrivals."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.employee import EventType, HRISEvent

_DUPLICATE_SHARE = 0.05
_OUT_OF_ORDER_SHARE = 0.05
MIN_TERMINATED_BEFORE_CREATED = 3
"""At least this many workers are created and then terminated (no-shows), and at least this
many such pairs arrive terminated first: the case a naive consumer gets wrong."""


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery; ``duplicate_of`` is the index of the first delivery of the event."""

    event: HRISEvent
    duplicate_of: int | None = None


def deliver(events: list[HRISEvent], rng: random.Random) -> list[Delivery]:
    """Webhook delivery as senders really behave: retried duplicates and late arrivals.

    Every event is delivered shortly after it happened (under the 1 s between two events of
    one worker); a late event arrives just after that worker's next event, so the pair swaps
    and nothing else moves; a duplicate is the same event again after a retry interval.
    """
    latency = [timedelta(seconds=rng.uniform(0.05, 0.9)) for _ in events]
    delivered_at = [e.occurred_at + lag for e, lag in zip(events, latency, strict=True)]

    for late, overtaker in late_pairs(events, rng):
        delivered_at[late] = delivered_at[overtaker] + timedelta(milliseconds=100)

    schedule: list[tuple[datetime, int, int]] = [(at, i, 0) for i, at in enumerate(delivered_at)]
    retry_after = (timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30))
    for i in rng.sample(range(len(events)), k=round(_DUPLICATE_SHARE * len(events))):
        for copy in range(1, rng.choice((2, 3))):
            schedule.append((delivered_at[i] + retry_after[copy - 1], i, copy))
    schedule.sort()

    first_delivery: dict[int, int] = {}
    deliveries: list[Delivery] = []
    for position, (_, i, _copy) in enumerate(schedule):
        deliveries.append(Delivery(events[i], first_delivery.get(i)))
        first_delivery.setdefault(i, position)
    return deliveries


def late_pairs(events: list[HRISEvent], rng: random.Random) -> list[tuple[int, int]]:
    """Pairs (late, overtaker) of consecutive events of one worker to swap on delivery.

    A few late ``created`` events overtaken by the same worker's ``terminated`` are always
    included: that is the case a naive consumer gets wrong.
    """
    by_worker: dict[str, list[int]] = {}
    for i, event in enumerate(events):
        by_worker.setdefault(event.employee_external_id, []).append(i)
    pairs = [(a, b) for ids in by_worker.values() for a, b in itertools.pairwise(ids)]
    rng.shuffle(pairs)

    def gap(pair: tuple[int, int]) -> float:
        return (events[pair[1]].occurred_at - events[pair[0]].occurred_at).total_seconds()

    def is_created_then_terminated(pair: tuple[int, int]) -> bool:
        return (
            events[pair[0]].type is EventType.created
            and events[pair[1]].type is EventType.terminated
        )

    forced = sorted((p for p in pairs if is_created_then_terminated(p)), key=gap)
    # Prefer short gaps: a retry that lands minutes late, not a replay weeks later.
    rest = sorted(
        (p for p in pairs if not is_created_then_terminated(p)),
        key=lambda p: math.floor(math.log10(max(gap(p), 1.0))),
    )
    wanted = max(MIN_TERMINATED_BEFORE_CREATED, round(_OUT_OF_ORDER_SHARE * len(events)))
    chosen: list[tuple[int, int]] = []
    used: set[int] = set()
    for pair in [*forced[:MIN_TERMINATED_BEFORE_CREATED], *rest]:
        if len(chosen) >= wanted:
            break
        if pair[0] in used or pair[1] in used:
            continue
        chosen.append(pair)
        used.update(pair)
    return chosen
