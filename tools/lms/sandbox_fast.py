"""The sandbox's fast lane: the three requests a provisioning event makes, answered without
scim2-server's generic pipeline when they have exactly the shape the provisioning client
sends, because that pipeline cost ~13 ms of CPU per event (validating the request with
scim2-models, deep-copying and re-validating resources, dumping a user with its groups
through the model serializer: ~2 ms per user alone) where the machine has 20 ms per event
for everything.

- ``GET /Users?filter=externalId eq "X"`` (with ``startIndex=1``/``count``), or several
  such terms joined by `` or `` (a batch's lookup, ``ScimLMS.read_accounts``): the
  storage's externalId index, the users in the generic path's order (by id), and each
  user's JSON kept from an earlier answer (``UserDumps``) with its ``groups`` read from the
  member index;
- ``PATCH /Groups/{id}`` whose operations only add members (``{"value": id}`` items) or
  remove one by ``members[value eq "ID"]``: the member index, answered 204 with the ETag;
- ``POST /Bulk`` whose operations are all such PATCHes: the same, one outcome each.

Anything else, or anything unusual about these (another filter or parameter, conditional
headers, an unknown group, a body that is not plain JSON of that shape, failed credentials,
a value with an escape), returns None and takes the generic path, which answers it
exactly as scim2-server does, errors included. The fast answers are the generic ones, byte
for byte in content (tests compare the two lanes on the same requests): same status,
headers, body, versions, and the same storage calls for member changes.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from http import HTTPStatus
from io import BytesIO
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from scim2_models import Context, Resource, ScimFilter
from scim2_server.applications.wsgi import WSGIApplication
from scim2_server.memory import _equality
from scim2_server.service import is_json_media_type
from scim2_server.utils import parametrize

from tools.lms.sandbox_storage import GROUP, USER, MemberChange, SandboxStorage

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from tools.lms.sandbox_service import SandboxService

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = "application/scim+json"

# A SCIM string literal without escapes: anything with a quote, a backslash or a control
# character takes the generic path, whose filter parser reads escapes.
_PLAIN = r'"([^"\\\x00-\x1f]*)"'
_EXTERNAL_ID_EQ = re.compile(rf"externalId eq {_PLAIN}")
_EXTERNAL_ID_TERM = r'externalId eq "[^"\\\x00-\x1f]*"'
_EXTERNAL_IDS = re.compile(rf"{_EXTERNAL_ID_TERM}(?: or {_EXTERNAL_ID_TERM})*")
_MEMBER_EQ = re.compile(rf"members\[value eq {_PLAIN}\]")
_GROUP_PATH = re.compile(r"/Groups/([0-9A-Za-z_-]+)")
_SEARCH_KEYS = frozenset({"filter", "startIndex", "count"})

FastAnswer = tuple[int, list[tuple[str, str]], bytes]


class FastLane:
    """See the module docstring; ``answer`` is None for anything the generic path serves."""

    def __init__(
        self,
        service: SandboxService,
        storage: SandboxStorage,
        bearer_tokens: set[str],
    ) -> None:
        self.service = service
        self.storage = storage
        self.bearer_tokens = bearer_tokens
        self.dumps = storage.user_dumps
        # Requests answered here, by kind: tests check the lane serves what it should.
        self.answered: Counter[str] = Counter()
        self._answered_lock = threading.Lock()
        self._user_type = service.get_resource_type(USER)
        self._group_type = service.get_resource_type(GROUP)
        user_model = service.get_model(self._user_type)
        self._external_id = _equality(parametrize(ScimFilter, user_model)('externalId eq "x"'))
        config = service.config
        bulk = config.bulk
        self._bulk_max_operations = (
            bulk.max_operations or 0 if bulk is not None and bulk.supported else 0
        )
        self._bulk_max_payload = bulk.max_payload_size if bulk is not None else None
        self._enabled = (
            service.etag_supported
            and config.patch is not None
            and bool(config.patch.supported)
            and config.filter is not None
            and bool(config.filter.supported)
            and config.pagination is None
            and self._external_id is not None
        )

    def answer(
        self, environ: WSGIEnvironment, method: str, path: str, body: bytes | None
    ) -> FastAnswer | None:
        """The answer to a ``/v2`` request, or None; ``body`` is the request's, when the
        caller read it (a bulk request's), else it is read here when needed."""
        if not self._enabled or not self._authorized(environ):
            return None
        if environ.get("HTTP_IF_MATCH") is not None or environ.get("HTTP_IF_NONE_MATCH"):
            return None
        relative = path.removeprefix("/v2")
        answer: FastAnswer | None = None
        if method == "GET" and relative == "/Users":
            answer = self._search_user(environ)
        elif (
            method in ("PATCH", "POST")
            and not environ.get("QUERY_STRING")
            and is_json_media_type(environ.get("CONTENT_TYPE"))
        ):
            if method == "POST" and relative == "/Bulk":
                answer = self._bulk(environ, self._read(environ) if body is None else body)
            elif method == "PATCH" and (match := _GROUP_PATH.fullmatch(relative)):
                answer = self._patch_group(environ, match.group(1), self._read(environ))
        if answer is not None:
            kind = f"{method} {relative if relative in ('/Users', '/Bulk') else '/Groups/{id}'}"
            with self._answered_lock:
                self.answered[kind] += 1
        return answer

    # --- requests ------------------------------------------------------------------------

    def _authorized(self, environ: WSGIEnvironment) -> bool:
        """``BearerTokenApplication.check_auth``; a refused request gets its 401 there."""
        if not self.bearer_tokens:
            return True
        scheme, _, token = str(environ.get("HTTP_AUTHORIZATION") or "").partition(" ")
        return scheme.lower() == "bearer" and token in self.bearer_tokens

    def _search_user(self, environ: WSGIEnvironment) -> FastAnswer | None:
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        if not query.keys() <= _SEARCH_KEYS or query.get("startIndex", "1") != "1":
            return None
        count_text = query.get("count", "1000")
        values = _external_ids(query.get("filter", ""))
        if values is None:
            return None
        if not (count_text.isascii() and count_text.isdigit()):
            return None
        count = min(int(count_text), self.service.config.filter.max_results or 1000)  # type: ignore[union-attr]
        if count < 1:
            return None
        base_url = WSGIApplication.get_base_url(environ)
        binding = self._external_id
        assert binding is not None
        storage = self.storage
        with self.service.provider, storage.lock:
            index = storage._equality_index(USER, binding)
            found: set[str] = set()
            for value in values:
                try:
                    found |= index.get(binding.comparable(value), set())
                except ValueError:
                    return None
            # The generic path sorts a search without sortBy by id (``memory._page``).
            ids = sorted(found)
            resources = [self._user_entry(base_url, user_id) for user_id in ids[:count]]
        body: dict[str, Any] = {
            "schemas": [LIST_RESPONSE],
            "totalResults": len(ids),
            "startIndex": 1,
            "itemsPerPage": len(resources),
        }
        if resources:
            body["Resources"] = resources
        return self._json(HTTPStatus.OK, base_url, "/Users", body)

    def _user_entry(self, base_url: str, user_id: str) -> dict[str, Any]:
        """A user as a search answers it: its kept JSON, or one dumped now, and its groups."""
        stored = self.storage._resources[USER][user_id]
        assert stored.meta is not None
        assert stored.meta.version is not None
        core = self.dumps.get(user_id, stored.meta.version, base_url)
        if core is None:
            bare = stored.model_copy(update={"groups": None})
            core = self.service.publish(base_url, bare).model_dump(
                scim_ctx=Context.RESOURCE_QUERY_RESPONSE
            )
            self.dumps.put(user_id, stored.meta.version, base_url, core)
        group_ids = self.storage.index.groups_of.get(user_id)
        if not group_ids:
            return core
        groups = self.storage._resources.get(GROUP, {})
        entries = []
        for group_id in group_ids:
            entry = {"value": group_id, "$ref": f"{base_url}/Groups/{group_id}"}
            display = getattr(groups.get(group_id), "display_name", None)
            if display is not None:
                entry["display"] = display
            entry["type"] = "direct"
            entries.append(entry)
        return _with_groups(core, entries)

    def _patch_group(
        self, environ: WSGIEnvironment, group_id: str, raw: bytes
    ) -> FastAnswer | None:
        changes = _member_patch(_loads(raw))
        if changes is None:
            return None
        base_url = WSGIApplication.get_base_url(environ)
        with self.service.provider, self.storage.lock:
            if group_id not in self.storage._resources.get(GROUP, {}):
                return None
            group = self._apply(group_id, changes)
        assert group.meta is not None
        assert group.meta.version is not None
        headers = [
            ("ETag", group.meta.version),
            ("Content-Type", SCIM_JSON),
            ("Location", f"{base_url}/Groups/{group_id}"),
            ("Cache-Control", "no-cache"),
        ]
        return HTTPStatus.NO_CONTENT, headers, b""

    def _bulk(self, environ: WSGIEnvironment, raw: bytes) -> FastAnswer | None:
        if self._bulk_max_payload is not None and len(raw) > self._bulk_max_payload:
            return None
        request = _loads(raw)
        if not isinstance(request, dict) or request.keys() != {"schemas", "Operations"}:
            return None
        operations = request["Operations"]
        if request["schemas"] != [BULK_REQUEST] or not isinstance(operations, list):
            return None
        if not 0 < len(operations) <= self._bulk_max_operations:
            return None
        planned: list[tuple[str, list[MemberChange]]] = []
        for operation in operations:
            if not isinstance(operation, dict) or operation.keys() != {"method", "path", "data"}:
                return None
            path = operation["path"]
            match = _GROUP_PATH.fullmatch(path) if isinstance(path, str) else None
            changes = _member_patch(operation["data"])
            if operation["method"] != "PATCH" or match is None or changes is None:
                return None
            planned.append((match.group(1), changes))
        base_url = WSGIApplication.get_base_url(environ)
        outcomes = []
        with self.service.provider, self.storage.lock:
            known = self.storage._resources.get(GROUP, {})
            if any(group_id not in known for group_id, _ in planned):
                return None
            for group_id, changes in planned:
                group = self._apply(group_id, changes)
                assert group.meta is not None
                outcomes.append(
                    {
                        "method": "PATCH",
                        "version": group.meta.version,
                        "location": f"{base_url}/Groups/{group_id}",
                        "status": "200",
                    }
                )
        body = {"schemas": [BULK_RESPONSE], "Operations": outcomes}
        return self._json(HTTPStatus.OK, base_url, "/Bulk", body)

    # --- helpers -------------------------------------------------------------------------

    def _apply(self, group_id: str, changes: list[MemberChange]) -> Resource[Any]:
        """The member changes through the storage, as ``SandboxHandler`` makes them (the
        request carries no precondition to check)."""
        return self.storage.patch_members(
            self._group_type, group_id, changes, check=lambda _current: None
        )

    @staticmethod
    def _read(environ: WSGIEnvironment) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw: bytes = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = BytesIO(raw)  # for the generic path, if it serves it
        return raw

    @staticmethod
    def _json(status: int, base_url: str, relative: str, body: dict[str, Any]) -> FastAnswer:
        payload = json.dumps(body).encode()
        headers = [
            ("Content-Type", SCIM_JSON),
            ("Location", base_url.rstrip("/") + relative),
            ("Cache-Control", "no-cache"),
        ]
        return status, headers, payload


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _external_ids(scim_filter: str) -> list[str] | None:
    """The values of a filter made only of ``externalId eq "..."`` terms (without escapes)
    joined by `` or ``, else None."""
    if _EXTERNAL_IDS.fullmatch(scim_filter) is None:
        return None
    return [term.group(1) for term in _EXTERNAL_ID_EQ.finditer(scim_filter)]


def _member_patch(data: Any) -> list[MemberChange] | None:
    """The member changes of a PatchOp made only of ``add`` on ``members`` with
    ``[{"value": "ID"}, ...]`` and ``remove`` on ``members[value eq "ID"]``, else None."""
    if not isinstance(data, dict) or data.keys() != {"schemas", "Operations"}:
        return None
    operations = data["Operations"]
    if data["schemas"] != [PATCH_OP] or not isinstance(operations, list) or not operations:
        return None
    changes: list[MemberChange] = []
    for operation in operations:
        if not isinstance(operation, dict):
            return None
        if operation.keys() == {"op", "path", "value"} and operation["op"] == "add":
            values = operation["value"]
            if operation["path"] != "members" or not isinstance(values, list) or not values:
                return None
            for item in values:
                if not isinstance(item, dict) or item.keys() != {"value"}:
                    return None
                member_id = item["value"]
                if not isinstance(member_id, str) or not member_id:
                    return None
                changes.append(MemberChange(True, member_id))
        elif operation.keys() == {"op", "path"} and operation["op"] == "remove":
            path = operation["path"]
            match = _MEMBER_EQ.fullmatch(path) if isinstance(path, str) else None
            if match is None or not match.group(1):
                return None
            changes.append(MemberChange(False, match.group(1)))
        else:
            return None
    return changes


def _with_groups(core: dict[str, Any], groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The user's JSON with ``groups`` where the model places it: before the extensions."""
    entry: dict[str, Any] = {}
    placed = False
    for key, value in core.items():
        if not placed and key.startswith("urn:"):
            entry["groups"] = groups
            placed = True
        entry[key] = value
    if not placed:
        entry["groups"] = groups
    return entry
