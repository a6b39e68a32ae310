"""The admin's reveal from the review page: what the placeholders of a review's model view
(``<PERSON_1>``) stood for.

The same service call as ``POST /reviews/{id}/reveal``: ``core.reviews`` writes the
``pii_reveal`` audit entry before it returns a value, so a reveal that cannot be recorded
shows nothing. Only admins reach it (``RevealerDep``); the answer is a fragment swapped into
the page, never stored in it (``Cache-Control: no-store``, no htmx history).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import CatalogDep, EngineDep, VaultKeysDep
from api.ui.pages import Banner, flash, render
from api.ui.present import PLACEHOLDER, ViewField, review_view
from api.ui.session import RevealerDep
from core import reviews
from core.db import utcnow

log = logging.getLogger(__name__)

router = APIRouter(prefix="/ui", include_in_schema=False)


def restored(field: ViewField, values: Mapping[str, str]) -> str:
    """The field with each placeholder the vault knows put back; unknown ones stay."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(), m.group()), field.value)


@router.post("/reviews/{review_id}/reveal")
def reveal(
    review_id: str,
    session: RevealerDep,
    engine: EngineDep,
    catalog: CatalogDep,
    vault_keys: VaultKeysDep,
) -> Response:
    admin = session.principal.name
    try:
        values = reviews.reveal_personal_data(
            engine,
            review_id=review_id,
            admin=admin,
            master_key=vault_keys.master,
        )
    except reviews.ReviewNotFoundError:
        return flash(Banner(False, "There is no such review."), status=404)
    except reviews.RevealGoneError:
        return flash(
            Banner(False, "This person was erased: the hidden personal data is gone."),
            status=410,
        )
    log.info("UI reveal on %s by %s: %d placeholders", review_id, admin, len(values))
    view = review_view(reviews.get_review(engine, review_id=review_id), catalog)
    fields = [(f, restored(f, values)) for f in view.hidden_fields]
    return render(
        "_revealed.html",
        {"admin": admin, "at": utcnow(), "fields": fields, "values": sorted(values.items())},
    )
