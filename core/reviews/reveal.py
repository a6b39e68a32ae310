"""Revealing what a review's placeholders stood for: admins only, and audited first."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from core import audit, vault
from core.audit import ActorKind, AuditAction, AuditEntryCreate
from core.reviews.models import ReviewError
from core.reviews.queue import get_review


class RevealGoneError(ReviewError):
    status = 410


def reveal_personal_data(
    engine: Engine, *, review_id: str, admin: str, master_key: bytes
) -> dict[str, str]:
    """What the placeholders of a review's run stood for; admins only (the caller checks).

    The audit entry is written first: if it cannot be written, nothing is revealed."""
    review = get_review(engine, review_id=review_id)
    label = f"{review.receipt_id}:placeholders"
    try:
        found = vault.reveal(engine, master_key=master_key, subject=review.subject, label=label)
    except vault.ShreddedError as error:
        raise RevealGoneError("this person was erased: their personal data is gone") from error
    except vault.EntryNotFoundError:
        found = {}
    values = {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}
    audit.append(
        engine,
        entry=AuditEntryCreate(
            receipt_id=review.receipt_id,
            subject=review.subject,
            actor=f"admin:{admin}",
            actor_kind=ActorKind.admin,
            action=AuditAction.pii_reveal,
            provenance={"review_id": review.id, "placeholders": sorted(values)},
        ),
    )
    return values
