"""Whether this process's worker threads are still coming round their loop.

Each `Worker.run_forever` beats once per turn (an event processed, or an idle poll); a
thread stuck in a call that never returns stops beating, and the worker's ``/livez``
(``agents.runtime.probes``) fails so that a supervisor restarts the process (its claimed
event is resumed elsewhere once the lease runs out). The oldest beat's age is also a
gauge, ``talentsync_worker_heartbeat_age_seconds``, read at scrape time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from core.metrics import PREFIX


class Heartbeats(Collector):
    def __init__(self) -> None:
        self._beats: dict[str, float] = {}
        self._lock = threading.Lock()

    def beat(self, worker_id: str) -> None:
        self._beats[worker_id] = time.monotonic()  # one dict store: no lock on the hot path

    def forget(self, worker_id: str) -> None:
        with self._lock:
            self._beats.pop(worker_id, None)

    def oldest_age_s(self) -> float | None:
        """Seconds since the least recent beat of a running worker; None when none runs."""
        with self._lock:
            beats = list(self._beats.values())
        return time.monotonic() - min(beats) if beats else None

    def running(self) -> int:
        return len(self._beats)

    def describe(self) -> list[GaugeMetricFamily]:
        return [self._family()]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        age = self.oldest_age_s()
        if age is not None:
            family = self._family()
            family.add_metric([], age)
            yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            f"{PREFIX}_worker_heartbeat_age_seconds",
            "Seconds since the least recent turn of this process's worker loops (absent "
            "when no worker runs here).",
        )


HEARTBEATS = Heartbeats()
REGISTRY.register(HEARTBEATS)
