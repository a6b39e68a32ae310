"""Over-redaction: the share of HR vocabulary the PII guard alters (`evals.over_redaction_probes`).

One record per probe: its kind, its tune/held-out half, what the model saw and which finding
types altered it. Headlines are altered shares per kind (lower is better); the metrics add
each kind's share on the tune and held-out halves, so a rule tuned on one half is reported
on the other.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from evals.metrics import latency_percentiles, ratio_statistic
from evals.over_redaction_probes import FIELD_OF, KINDS, RecordNames, load_probes
from evals.suites.base import Progress, Record, RunOptions, SuiteResult, finite, sample
from evals.suites.headlines import Headline

SPLITS = ("tune", "heldout")


def _altered_share(kind: str) -> Headline:
    return Headline(
        f"{kind}.altered",
        # over every record (the bootstrap draws indices into all of them): probes of
        # other kinds count in neither numerator nor denominator
        lambda records: ratio_statistic(
            [float(r["altered"] and r["kind"] == kind) for r in records],
            [float(r["kind"] == kind) for r in records],
        ),
        higher_is_better=False,
    )


class OverRedactionSuite:
    name = "over-redaction"
    headlines: tuple[Headline, ...] = tuple(_altered_share(kind) for kind in KINDS)

    def run(self, options: RunOptions, progress: Progress) -> SuiteResult:
        from core.employee import Employee
        from pii.guard import get_guard

        probes = sample(load_probes(options.dataset), options.limit, options.seed)
        guard = get_guard()
        names = RecordNames(options.seed)
        records: list[Record] = []
        for index, probe in enumerate(probes):
            given, family, manager = names.for_text(probe.text)
            field = FIELD_OF[probe.kind]
            employee = Employee.model_validate(
                {
                    "external_id": f"E{100000 + index}",
                    "email": f"worker{index}@example.com",
                    "given_name": given,
                    "family_name": family,
                    field: [probe.text] if field == "skills" else probe.text,
                }
            )
            began = time.perf_counter()
            view = guard.view_for_model(employee, manager_names=manager)
            latency = (time.perf_counter() - began) * 1000
            key = "skills.0" if field == "skills" else field
            # what the record holds (the model strips surrounding spaces), not the raw probe
            held = employee.skills[0] if field == "skills" else getattr(employee, field)
            seen = None if view.fields is None else view.fields.get(key)
            records.append(
                {
                    "id": str(index),
                    "kind": probe.kind,
                    "split": probe.split,
                    "text": held,
                    "seen": seen,
                    "altered": int(seen != held),
                    "refused": int(view.fields is None),
                    "findings": dict(view.report.get("findings", {})),
                    "latency_ms": latency,
                }
            )
            progress(len(records), len(probes))
        return SuiteResult(
            records=records,
            metrics=metrics(records),
            counts={kind: sum(r["kind"] == kind for r in records) for kind in KINDS},
            extra={"examples": examples(records)},
        )


def metrics(records: Sequence[Record]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for kind in KINDS:
        mine = [r for r in records if r["kind"] == kind]
        if not mine:
            continue
        out[f"{kind}.altered"] = _share(mine)
        for split in SPLITS:
            out[f"{kind}.altered.{split}"] = _share([r for r in mine if r["split"] == split])
        out[f"{kind}.refused"] = sum(r["refused"] for r in mine) / len(mine)
    p50, p95 = latency_percentiles([float(r["latency_ms"]) for r in records])
    out["latency_p50_ms"] = finite(p50)
    out["latency_p95_ms"] = finite(p95)
    return out


def _share(records: Sequence[Record]) -> float | None:
    return sum(r["altered"] for r in records) / len(records) if records else None


def examples(records: Sequence[Record], per_kind: int = 10) -> dict[str, list[list[str]]]:
    """A few alterations of each kind, as (text, what the model saw) pairs."""
    out: dict[str, list[list[str]]] = {}
    for record in records:
        if record["altered"] and len(out.setdefault(record["kind"], [])) < per_kind:
            seen = "<refused by the firewall>" if record["seen"] is None else record["seen"]
            out[record["kind"]].append([record["text"], seen])
    return out
