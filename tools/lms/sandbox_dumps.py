"""The JSON of the sandbox's users as a search answers them, kept between answers: the
model serializer takes ~2 ms for a user with ten groups, more than everything else a
lookup by externalId costs (``sandbox_fast``)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any, cast

from pydantic import TypeAdapter
from scim2_models import Meta

USER_DUMPS_SIZE = 8192
_DATETIME = TypeAdapter(datetime)


def json_datetime(value: datetime) -> str:
    """A date as the resources' JSON writes it (pydantic's serializer)."""
    return cast(str, _DATETIME.dump_python(value, mode="json"))


class UserDumps:
    """The JSON of users as a search answers them, without ``groups`` (those come from the
    member index on every answer): kept per user for the version it was made from, so
    a user read again is not dumped again (~2 ms each through the model serializer).

    A membership change gives a user a new version and ``lastModified`` and nothing else
    (``SandboxStorage._touch``), so ``retag`` carries the kept JSON over to the new version;
    any other write makes a version no entry has, and the next read dumps the user again.
    """

    def __init__(self, size: int = USER_DUMPS_SIZE) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[str, str, dict[str, Any]]] = OrderedDict()

    def get(self, user_id: str, version: str, base_url: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(user_id)
            if entry is None or entry[0] != version or entry[1] != base_url:
                return None
            self._entries.move_to_end(user_id)
            return entry[2]

    def put(self, user_id: str, version: str, base_url: str, dump: dict[str, Any]) -> None:
        with self._lock:
            self._entries[user_id] = (version, base_url, dump)
            self._entries.move_to_end(user_id)
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def retag(self, user_id: str, before: str | None, after: Meta) -> None:
        """The user's version went from ``before`` to ``after`` by a membership change."""
        with self._lock:
            entry = self._entries.get(user_id)
            if entry is None or entry[0] != before or after.version is None:
                return
            _version, base_url, dump = entry
            meta = dict(dump.get("meta") or {})
            meta["version"] = after.version
            if after.last_modified is not None:
                meta["lastModified"] = json_datetime(after.last_modified)
            self._entries[user_id] = (after.version, base_url, {**dump, "meta": meta})

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
