"""The catalog's groups as the LMS knows them, resolved once and shared by all workers.

Resolved lazily, on the first event, so an LMS that is down at start-up never stops the
service from accepting webhooks; the first events then fail and retry like any other.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from core.catalog import Catalog
from tools.lms.models import LMSGroup
from tools.lms.scim import ScimLMS


class CatalogGroups:
    def __init__(self, lms: ScimLMS, catalog: Catalog) -> None:
        self._lms, self._catalog = lms, catalog
        self._lock = threading.Lock()
        self._groups: Mapping[str, LMSGroup] | None = None

    def resolve(self) -> Mapping[str, LMSGroup]:
        """Catalog id -> LMS group; creates the groups the LMS lacks on first use."""
        with self._lock:
            if self._groups is None:
                self._groups = self._lms.ensure_groups(self._catalog)
            return self._groups
