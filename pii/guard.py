"""The PII engines, built once per process (Presidio and spaCy are slow to load and safe to
share), and the one entry point that turns a record into what a model may see."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from core.catalog import Catalog
from core.employee import Employee
from pii.analyzer import get_analyzer
from pii.firewall import BLOCKING_ENTITIES, Channel, FirewallRefusalError, PIIFirewall
from pii.hr_fields import HRFieldReaders, default_reader
from pii.hr_vocabulary import catalog_labels, catalog_sites, get_hr_vocabulary, get_places
from pii.identity import RecordIdentity
from pii.pattern_analyzer import get_pattern_analyzer
from pii.placeholders import PlaceholderMap
from pii.policy import FieldPolicy, FieldReaders, free_text_values, model_view
from pii.scrubber import Scrubber


@dataclass(frozen=True)
class GuardedView:
    """``fields`` is ``None`` when the firewall refused: then no model may be asked."""

    fields: dict[str, str] | None
    report: dict[str, Any]  # finding counts by type, placeholder count, any refusal
    placeholders: dict[str, str]  # placeholder -> original value: for the vault only
    identity: RecordIdentity


@dataclass(frozen=True)
class PIIGuard:
    scrubber: Scrubber
    firewall: PIIFirewall
    policy: FieldPolicy = field(default_factory=FieldPolicy)
    readers: FieldReaders | None = None
    """How title, department, location and skills are read (`pii.hr_fields`); None:
    as free text, like notes."""

    def view_for_model(
        self, employee: Employee, *, manager_names: Sequence[str] = ()
    ) -> GuardedView:
        identity = RecordIdentity.from_employee(employee, manager_names=manager_names)
        placeholders = PlaceholderMap()
        view = model_view(
            employee,
            scrubber=self.scrubber,
            identity=identity,
            placeholders=placeholders,
            policy=self.policy,
            readers=self.readers,
        )
        mapping = placeholders.mapping()
        report: dict[str, Any] = {"findings": view.findings, "placeholders": len(mapping)}
        try:
            self.firewall.check(view.fields, identity=identity, channel=Channel.model_prompt)
        except FirewallRefusalError as refused:
            report["refusal"] = refused.refusal.as_dict()
            return GuardedView(None, report, mapping, identity)
        return GuardedView(view.fields, report, mapping, identity)

    def prepare(self, records: Sequence[tuple[Employee, Sequence[str]]]) -> int:
        """Analyse these records' free text ahead of their `view_for_model` calls, NER
        batched across them (`Scrubber.prepare`); the worker's prefetch under a backlog.
        Each record comes with its manager's names, as `view_for_model` will get them."""
        return self.scrubber.prepare(
            (
                free_text_values(employee, self.policy, self.readers),
                RecordIdentity.from_employee(employee, manager_names=manager_names),
            )
            for employee, manager_names in records
        )


_by_catalog: dict[str, PIIGuard] = {}
_by_catalog_lock = threading.Lock()


def guard_for_catalog(catalog: Catalog) -> PIIGuard:
    """`get_guard()` reading HR fields with this catalog's labels and sites as vocabulary
    too (the bundled demo catalog and ESCO are always in it). Same scrubber and firewall;
    one per catalog version, built once."""
    with _by_catalog_lock:
        guard = _by_catalog.get(catalog.content_hash)
        if guard is None:
            readers = HRFieldReaders.build(
                get_hr_vocabulary().extended(catalog_labels(catalog)),
                get_places().extended(catalog_sites(catalog)),
            )
            guard = replace(get_guard(), readers=readers.for_field)
            _by_catalog[catalog.content_hash] = guard
        return guard


@cache
def get_guard() -> PIIGuard:
    firewall = PIIFirewall(get_pattern_analyzer(BLOCKING_ENTITIES))
    return PIIGuard(
        scrubber=Scrubber(get_analyzer()),
        firewall=firewall,
        readers=default_reader,
    )
