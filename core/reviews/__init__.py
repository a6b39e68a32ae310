"""Review checkpoints: one row per paused run, and the decisions people make on it.

The paused run itself lives in the LangGraph checkpoint (thread = inbox receipt id); this
table is what reviewers list, filter and decide on, and what a worker reads to resume the
run with the decision. A decision and the reopening of the inbox row commit together, so a
decision is never lost and never applied twice: a second submission finds the review closed.

The package: ``models`` (statuses, the table, errors), ``queue`` (opening, listing,
counting), ``decisions`` (people's and the system's decisions) and ``reveal`` (an admin's
look behind the placeholders). Everything a caller needs is importable from
``core.reviews`` itself.
"""

from __future__ import annotations

from core.reviews.decisions import (
    OverdueAction,
    Supersession,
    decide,
    resolution_for,
    supersede_pending,
    supersede_pending_many,
    sweep_overdue,
)
from core.reviews.models import (
    CLOSED,
    DecisionResult,
    DuplicateApprovalError,
    InvalidEditError,
    ResponseType,
    Review,
    ReviewBase,
    ReviewClosedError,
    ReviewError,
    ReviewNotFoundError,
    ReviewPublic,
    ReviewStatus,
    new_review_id,
)
from core.reviews.queue import (
    DANGER_FLAGS,
    NOT_IN_BULK,
    LabelCounts,
    ReviewFilter,
    bulk_accept_refusal,
    counts,
    get_review,
    label_counts,
    list_reviews,
    open_review,
)
from core.reviews.reveal import RevealGoneError, reveal_personal_data

__all__ = [
    "CLOSED",
    "DANGER_FLAGS",
    "NOT_IN_BULK",
    "DecisionResult",
    "DuplicateApprovalError",
    "InvalidEditError",
    "LabelCounts",
    "OverdueAction",
    "ResponseType",
    "RevealGoneError",
    "Review",
    "ReviewBase",
    "ReviewClosedError",
    "ReviewError",
    "ReviewFilter",
    "ReviewNotFoundError",
    "ReviewPublic",
    "ReviewStatus",
    "Supersession",
    "bulk_accept_refusal",
    "counts",
    "decide",
    "get_review",
    "label_counts",
    "list_reviews",
    "new_review_id",
    "open_review",
    "resolution_for",
    "reveal_personal_data",
    "supersede_pending",
    "supersede_pending_many",
    "sweep_overdue",
]
