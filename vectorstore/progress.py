"""Progress of long embedding work (a first skills index embeds ~25k labels: 30-90 s).

Whoever asks for the work may pass a callback (the CLI draws a progress bar from it);
without one the work logs at intervals, so a service waiting on its first profile with
skills says what it is doing instead of going silent for a minute and a half.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

Progress = Callable[[int, int], None]
"""Called with (done, total) as work advances, and once more when it is complete."""

LOG_EVERY_S = 10.0


def logging_progress(log: logging.Logger, what: str, *, every_s: float = LOG_EVERY_S) -> Progress:
    """A callback that logs ``what: done of total`` at most every ``every_s`` seconds, and
    always at the end."""
    last = time.monotonic()

    def report(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if done < total and now - last < every_s:
            return
        last = now
        share = done / total if total else 1.0
        log.info("%s: %d of %d (%.0f%%)", what, done, total, 100 * share)

    return report
