"""Group commit on the inbox, on SQLite and on the real PostgreSQL: deliveries that arrive
together share one transaction, and still every one is answered only after its commit,
duplicates resolve to the first receipt, and a failed batch stores nothing at all."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from core import audit, inbox
from core.audit import ActorKind, AuditAction, AuditEntry, AuditEntryCreate
from core.employee import HRISEvent
from core.inbox import Arrival, InboxEvent, InboxWriter, Stored, WriterClosedError
from tests.database_roles import OWNER_ROLE, role_url
from tests.factories import make_event

POISON = "evt_poison"


def _arrival(event: HRISEvent) -> Arrival:
    receipt_id = inbox.new_receipt_id()
    entry = AuditEntryCreate(
        event_id=event.event_id,
        receipt_id=receipt_id,
        actor=f"hris:{event.source}",
        actor_kind=ActorKind.system,
        action=AuditAction.event_received,
    )
    return Arrival(event=event, receipt_id=receipt_id, audit_entry=entry)


@pytest.fixture
def writer(engine: Engine) -> Iterator[InboxWriter]:
    with closing(InboxWriter(engine)) as inbox_writer:
        yield inbox_writer


@contextmanager
def writes_held(engine: Engine) -> Iterator[None]:
    """Hold the lock every intake commit needs (SQLite's one writer, taken at BEGIN;
    PostgreSQL: the inbox table), so that what is submitted meanwhile piles up."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("LOCK TABLE inbox_event IN SHARE ROW EXCLUSIVE MODE"))
        yield


def _submit_as_second_batch(
    engine: Engine, writer: InboxWriter, first: Arrival, rest: list[Arrival]
) -> list[Future[Stored]]:
    """``first`` alone in a batch that waits on the lock; ``rest`` queued behind it, so the
    writer takes them all as its next batch."""
    with writes_held(engine):
        head = writer.submit(first)
        while not head.running():  # the writer took it and is waiting on the lock
            threading.Event().wait(0.005)
        futures = [writer.submit(arrival) for arrival in rest]
    return [head, *futures]


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(InboxEvent)).scalar_one()
        received = connection.execute(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == AuditAction.event_received)  # type: ignore[arg-type]
        ).scalar_one()
    return rows, received


def test_duplicates_inside_a_batch_and_across_batches_keep_one_row_and_the_first_receipt(
    engine: Engine, writer: InboxWriter
) -> None:
    a, b, c = make_event(), make_event(), make_event()
    first_a = _arrival(a)
    rest = [_arrival(a), _arrival(b), _arrival(b), _arrival(c), _arrival(b)]
    answers = [f.result(timeout=30) for f in _submit_as_second_batch(engine, writer, first_a, rest)]

    a1, a2, b1, b2, c1, b3 = answers
    assert a1.created and a1.receipt_id == first_a.receipt_id
    assert not a2.created and a2.receipt_id == a1.receipt_id  # across batches
    assert b1.created and not b2.created and not b3.created  # inside one batch
    assert b2.receipt_id == b3.receipt_id == b1.receipt_id == rest[1].receipt_id
    assert c1.created
    assert _counts(engine) == (3, 3)  # one row and one receipt entry per event
    entries = audit.query(engine)
    assert [e.receipt_id for e in entries] == [a1.receipt_id, b1.receipt_id, c1.receipt_id]
    assert audit.verify(engine).ok


def test_concurrent_senders_of_the_same_events_store_each_once(engine: Engine) -> None:
    """Eight senders deliver the same 40 events in their own orders, through two writers
    (as two API processes would): one row, one 'created' and one receipt per event."""
    events = [make_event() for _ in range(40)]
    with closing(InboxWriter(engine)) as one, closing(InboxWriter(engine)) as other:

        def send(sender: int) -> list[Stored]:
            order = random.Random(sender).sample(events, len(events))
            writer = one if sender % 2 else other
            futures = [writer.submit(_arrival(event)) for event in order]
            return [future.result(timeout=60) for future in futures]

        with ThreadPoolExecutor(8) as pool:
            answers = [stored for batch in pool.map(send, range(8)) for stored in batch]

    assert len(answers) == 8 * 40
    for event in events:
        mine = [s for s in answers if s.event_id == event.event_id]
        assert len(mine) == 8
        assert sum(s.created for s in mine) == 1
        assert len({s.receipt_id for s in mine}) == 1
    assert _counts(engine) == (40, 40)
    assert audit.verify(engine).ok


def _refuse_poison(engine: Engine) -> None:
    """A real database error for one event: a trigger that refuses its row (on PostgreSQL
    made by the tables' owner: the service's role may not add triggers)."""
    if engine.dialect.name == "postgresql":
        owner = create_engine(
            role_url(engine.url.render_as_string(hide_password=False), OWNER_ROLE)
        )
        try:
            _add_poison_trigger(owner)
        finally:
            owner.dispose()
    else:
        _add_poison_trigger(engine)


def _add_poison_trigger(engine: Engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN IF NEW.event_id = '{POISON}' THEN RAISE EXCEPTION 'poison refused'; "
                "END IF; RETURN NEW; END $$"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON inbox_event "
                "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
            )
        else:
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON inbox_event "
                f"WHEN NEW.event_id = '{POISON}' BEGIN SELECT RAISE(ABORT, 'poison refused'); END"
            )


def test_a_failed_batch_fails_every_delivery_in_it_and_stores_none_of_them(
    engine: Engine, writer: InboxWriter
) -> None:
    _refuse_poison(engine)
    before = _arrival(make_event())
    good, poison, also_good = make_event(), make_event(event_id=POISON), make_event()
    batch = [_arrival(good), _arrival(poison), _arrival(also_good)]
    head, *failed = _submit_as_second_batch(engine, writer, before, batch)

    assert head.result(timeout=30).created
    for future in failed:
        with pytest.raises(DBAPIError, match="poison refused"):
            future.result(timeout=30)
    assert _counts(engine) == (1, 1)  # nothing of the failed batch, not even its audit entries
    assert audit.verify(engine).ok

    retried = writer.store(_arrival(good))  # the writer goes on; the sender's retry lands
    assert retried.created and _counts(engine) == (2, 2)


def test_close_commits_what_was_submitted_and_refuses_what_comes_after(engine: Engine) -> None:
    writer = InboxWriter(engine)
    futures = [writer.submit(_arrival(make_event())) for _ in range(20)]
    writer.close()
    assert all(future.done() and future.result().created for future in futures)
    assert _counts(engine) == (20, 20)
    with pytest.raises(WriterClosedError):
        writer.submit(_arrival(make_event()))
