"""A seeded, realistic HRIS event stream for the demo, tests and benchmarks.

Real HRIS feeds are the hard part of this product: names with diacritics, free-text titles
that vary for one job code, reorganisations, leavers and rehires, and a delivery channel that
repeats and reorders webhooks. The simulator produces all of that from the catalog alone, so
the demo company and its event stream can never disagree, and the same seed always yields the
same stream (tests compare runs and assert on exact cases).

The truth is ``SimulatedStream.final``: the latest snapshot of each worker by ``occurred_at``.
A correct pipeline reaches it whatever order and however often the deliveries arrive.

On request (``free_text_titles``) a few workers carry what many HRIS records really hold: a
free-text title and no job code the catalog knows ("Sr. Acct Exec - EMEA"), one of them a
prompt-injection attempt. The catalog rules cannot place them, so they exercise AI title
mapping and the review queue; ``SimulatedStream.free_text_titles`` keeps the role each was
really hired into, which the HRIS record no longer says.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.catalog import Catalog
from core.employee import Employee, HRISEvent
from tools.hris.simulator.company import Company
from tools.hris.simulator.delivery import Delivery, deliver
from tools.hris.simulator.free_text import (
    FreeTextTitle,
    choose_free_text_titles,
    with_free_text_titles,
)
from tools.hris.simulator.life import Simulation
from tools.hris.simulator.names import NameSource

DEFAULT_EMAIL_DOMAIN = "northwind-health.example.com"


@dataclass(frozen=True)
class SimulatedStream:
    deliveries: list[Delivery]
    final: dict[str, Employee]
    free_text_titles: dict[str, FreeTextTitle] = field(default_factory=dict)
    """By HRIS id: the workers whose titles the catalog rules cannot place."""

    @property
    def events(self) -> list[HRISEvent]:
        """Each distinct event once, in the order it happened."""
        unique = [d.event for d in self.deliveries if d.duplicate_of is None]
        return sorted(unique, key=lambda e: e.occurred_at)


def standard_webhook_body(event: HRISEvent) -> dict[str, Any]:
    """The JSON body a Standard Webhooks sender posts for ``event``.

    The event id travels in the ``webhook-id`` header, not the body; ``changed_fields`` is
    sent when there are any, so the receiver sees promotions and transfers as such.
    """
    if event.employee is None:
        raise ValueError(f"event {event.event_id} has no employee snapshot to send")
    body: dict[str, Any] = {
        "type": event.type.value,
        "timestamp": event.occurred_at.isoformat(),
        "data": event.employee.model_dump(mode="json"),
    }
    if event.changed_fields:
        body["changed_fields"] = list(event.changed_fields)
    return body


def simulate_stream(
    catalog: Catalog,
    *,
    employees: int = 320,
    seed: int = 7,
    start: datetime,
    weeks: int = 26,
    email_domain: str = DEFAULT_EMAIL_DOMAIN,
    free_text_titles: int = 0,
    injection_attempt: bool = True,
) -> SimulatedStream:
    """Hire ``employees`` people into the catalog's roles, run ``weeks`` of HR life, deliver.

    ``free_text_titles``: how many workers get a free-text title and no known job code (see
    ``choose_free_text_titles``; fewer when the stream has fewer who fit); with
    ``injection_attempt`` one of them is ``INJECTION_TITLE``. The rest of the stream, its
    deliveries and their order are the same as without them, so 0 changes nothing.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    if employees < 2:
        raise ValueError("simulate at least two employees (a manager and a report)")
    if weeks < 4:
        raise ValueError("simulate at least four weeks, so new hires can start")
    if free_text_titles < 0:
        raise ValueError("free_text_titles must not be negative")
    company = Company.from_catalog(catalog)
    rng = random.Random(seed)
    sim = Simulation(company, rng, start, weeks, NameSource(seed, email_domain))
    events = sim.run(employees)
    chosen: dict[str, FreeTextTitle] = {}
    if free_text_titles:
        # Its own generator: the main one, and so every other event and delivery, is untouched.
        own = random.Random(f"{seed}:free-text-titles")
        chosen = choose_free_text_titles(
            events, own, count=free_text_titles, injection=injection_attempt
        )
        events = with_free_text_titles(events, chosen)
    return SimulatedStream(
        deliveries=deliver(events, rng), final=replay(events), free_text_titles=chosen
    )


def replay(events: list[HRISEvent]) -> dict[str, Employee]:
    """The truth after ``events``: per worker, the snapshot with the latest ``occurred_at``."""
    latest: dict[str, HRISEvent] = {}
    for event in events:
        seen = latest.get(event.employee_external_id)
        if event.employee is not None and (seen is None or event.occurred_at > seen.occurred_at):
            latest[event.employee_external_id] = event
    return {k: e.employee for k, e in latest.items() if e.employee is not None}
