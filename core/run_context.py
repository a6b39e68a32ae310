"""Which run a log line belongs to, without passing ids through every call.

The worker sets the receipt id, the run id and the subject (the person's pseudonym) in
context variables around one claimed event; `RunContextFilter`, installed on the log
handler, copies them onto every record emitted meanwhile, by our code or a library's.
Context variables follow the code into LangGraph's executor threads (it copies the
context) and stay apart between worker threads. Only ids go here, never a personal value:
the subject is the keyed pseudonym the review queue and the audit trail already use.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

CONTEXT_FIELDS = ("receipt_id", "run_id", "subject")

_current: ContextVar[dict[str, str] | None] = ContextVar("talentsync_run", default=None)


@contextmanager
def run_context(*, receipt_id: str, run_id: str, subject: str) -> Iterator[None]:
    """Every log record emitted inside the block carries these three ids."""
    token = _current.set({"receipt_id": receipt_id, "run_id": run_id, "subject": subject})
    try:
        yield
    finally:
        _current.reset(token)


def current_run() -> dict[str, str]:
    """The ids of the run this code is part of; empty outside a run."""
    return dict(_current.get() or {})


class RunContextFilter(logging.Filter):
    """Puts the current run's ids on a record as attributes (``record.receipt_id``, ...);
    a record outside a run gets none, so a formatter can tell the two apart."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = _current.get()
        if ids:
            for name, value in ids.items():
                setattr(record, name, value)
        return True
