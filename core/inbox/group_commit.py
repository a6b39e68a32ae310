"""Group commit for webhook intake: one writer thread stores every delivery that arrived
while its previous commit ran, in ONE transaction, and answers each after that commit.

Why: a 202 promises the event is durably committed with its audit receipt entry, and the
audit chain admits one appender at a time (its head is read and extended under a lock). One
transaction per delivery therefore lines every request up behind the previous one's commit
(a WAL flush on PostgreSQL, the single write lock on SQLite) and turns concurrency into
waiting. Committing whatever has piled up pays that fixed cost once per batch: under load a
batch holds about as many deliveries as arrived during one commit; alone, a delivery is
committed at once (nothing waits for company, so an idle service answers as fast as before).

What does not change (``core.inbox.enqueue.enqueue_many`` does the storing):
- a delivery's future resolves only after the commit that holds its row and audit entry;
- duplicates, inside a batch or across batches and processes, resolve to the first receipt
  (``created=False``), the unique constraint deciding;
- a batch is one transaction: if it fails (database down, a constraint, a bug), it rolls
  back and every delivery in it gets the error, so the API answers 5xx to all of them and
  the senders retry; nothing is half-committed.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from queue import Empty, SimpleQueue

from sqlalchemy.engine import Engine

from core.inbox.enqueue import Arrival, Stored, enqueue_many
from core.inbox.write_turn import WriteTurn

log = logging.getLogger(__name__)

MAX_BATCH = 256
"""Enough to absorb thousands of deliveries a second; small enough that one INSERT stays
far below SQLite's 32,766 bound parameters (11 per row)."""

_Pending = tuple[Arrival, "Future[Stored]"]


class WriterClosedError(RuntimeError):
    """The writer was closed (the service is shutting down); nothing was stored."""


class InboxWriter:
    """One per process and database. ``submit`` from any thread (or, wrapped with
    ``asyncio.wrap_future``, from the event loop); ``close`` commits what is queued and
    stops the thread."""

    def __init__(self, engine: Engine, *, max_batch: int = MAX_BATCH) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: SimpleQueue[_Pending | None] = SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._turn = WriteTurn(engine)  # writers of several processes: core.inbox.write_turn
        self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
        self._thread.start()

    def submit(self, arrival: Arrival) -> Future[Stored]:
        future: Future[Stored] = Future()
        with self._lock:
            if self._closed:
                raise WriterClosedError("the inbox writer is closed")
            self._queue.put((arrival, future))
        return future

    def store(self, arrival: Arrival) -> Stored:
        """``submit`` and wait for the commit."""
        return self.submit(arrival).result()

    def close(self) -> None:
        """Everything submitted before this is committed (or failed) when it returns."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()
        self._turn.close()

    def _run(self) -> None:
        closing = False
        while not closing:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    pending = self._queue.get_nowait()
                except Empty:
                    break
                if pending is None:
                    closing = True
                    break
                batch.append(pending)
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        # a caller that gave up (its request was cancelled) is left out, never half-served
        live = [pending for pending in batch if pending[1].set_running_or_notify_cancel()]
        if not live:
            return
        started = time.perf_counter()
        try:
            with self._turn:
                stored = enqueue_many(self._engine, [arrival for arrival, _ in live])
        except Exception as error:
            log.exception("inbox batch of %d deliveries failed and was rolled back", len(live))
            for _, future in live:
                future.set_exception(error)
            return
        for (_, future), result in zip(live, stored, strict=True):
            future.set_result(result)
        created = sum(result.created for result in stored)
        log.debug(
            "inbox batch: %d new, %d duplicate, committed in %.1f ms",
            created,
            len(stored) - created,
            (time.perf_counter() - started) * 1000,
        )
