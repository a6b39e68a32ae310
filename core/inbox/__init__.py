"""The durable inbox: every accepted HRIS event is a row here before anyone answers 2xx.

Workers claim rows with a lease. A worker that dies leaves its row ``processing`` with an
expired lease, and the next claimer takes it over, so nothing accepted is ever lost. Events
of one employee are claimed strictly in ``occurred_at`` order and never two at a time.

The package: ``models`` (statuses, tables, the claim), ``enqueue`` (durable intake, one
event or many in one transaction), ``group_commit`` (the writer that batches concurrent
deliveries into one commit), ``queue`` (claims, leases, finishing, retries, listings) and
``employee_cursor`` (the cursor and reporting lines) and ``staleness`` (whether a claimed
event was overtaken, and why).
Everything a caller needs is importable from ``core.inbox`` itself.
"""

from __future__ import annotations

from core.inbox.employee_cursor import (
    latest_snapshot,
    latest_snapshots,
    manager_names,
    manager_names_many,
    manages_others,
    manages_others_many,
)
from core.inbox.enqueue import Arrival, Stored, enqueue, enqueue_many
from core.inbox.group_commit import InboxWriter, WriterClosedError
from core.inbox.models import (
    OPEN_STATUSES,
    Claim,
    EmployeeCursor,
    InboxEvent,
    InboxEventBase,
    InboxEventPublic,
    InboxStatus,
    new_receipt_id,
)
from core.inbox.queue import (
    Completion,
    LeaseLostError,
    NotReplayableError,
    NotResumableError,
    backoff_delay,
    claim_many,
    claim_next,
    close_parked,
    complete,
    complete_many,
    fail,
    get,
    list_by_status,
    open_count,
    park,
    renew_lease,
    reopen_for_resume,
    replay,
    status_counts,
    upcoming_records,
)
from core.inbox.staleness import is_stale, newer_waiting_for_review, overtaken_many

__all__ = [
    "OPEN_STATUSES",
    "Arrival",
    "Claim",
    "Completion",
    "EmployeeCursor",
    "InboxEvent",
    "InboxEventBase",
    "InboxEventPublic",
    "InboxStatus",
    "InboxWriter",
    "LeaseLostError",
    "NotReplayableError",
    "NotResumableError",
    "Stored",
    "WriterClosedError",
    "backoff_delay",
    "claim_many",
    "claim_next",
    "close_parked",
    "complete",
    "complete_many",
    "enqueue",
    "enqueue_many",
    "fail",
    "get",
    "is_stale",
    "latest_snapshot",
    "latest_snapshots",
    "list_by_status",
    "manager_names",
    "manager_names_many",
    "manages_others",
    "manages_others_many",
    "new_receipt_id",
    "newer_waiting_for_review",
    "open_count",
    "overtaken_many",
    "park",
    "renew_lease",
    "reopen_for_resume",
    "replay",
    "status_counts",
    "upcoming_records",
]
