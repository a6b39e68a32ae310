"""The sandbox's SCIM service: scim2-server's ``ScimService`` with the per-resource work of a
search answer cut down, because a member search returns every group of a user (about ten)
and the generic path spent ~2 ms on each: a deep copy and a walk of every reference path to
publish it, then a re-validation of the whole ListResponse it had just dumped.

- ``publish``: a Group without members, or a User whose only references are its ``groups``,
  is published with shallow copies (``meta.location`` set, the groups' ``$ref`` made URLs);
  anything else takes scim2-server's path.
- ``search_response``: the page is dumped once and wrapped in the ListResponse as is; a
  group's dump (without members) is kept per (id, version, URL, attributes), since a
  group's version changes with every change to it, members included. Cursor pages take
  scim2-server's path.
- ``creation_response``: a new user's JSON is kept (``UserDumps``) for the fast lane's
  lookups by externalId (``sandbox_fast``), which would otherwise dump it again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from http import HTTPStatus
from typing import Any

from scim2_models import Context, Resource, SearchRequest
from scim2_server.responses import ScimResponse
from scim2_server.service import ScimService
from scim2_server.storage import SearchPage

from tools.lms.sandbox_dumps import UserDumps
from tools.lms.sandbox_storage import GROUP, USER

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
DUMP_CACHE_SIZE = 4096


class SandboxService(ScimService):
    def __init__(self, *args: Any, user_dumps: UserDumps | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user_dumps = user_dumps
        self._dumps: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self._dumps_lock = threading.Lock()

    def publish(self, base_url: str, resource: Resource[Any]) -> Resource[Any]:
        meta = resource.meta
        name = meta.resource_type if meta is not None else None
        if meta is None or resource.id is None or not _references_only_groups(name, resource):
            return super().publish(base_url, resource)
        update: dict[str, Any] = {
            "location": self.resource_location(
                base_url, self.get_resource_type_of(resource), resource.id
            )
        }
        if not self.etag_supported:
            update["version"] = None
        changes: dict[str, Any] = {"meta": meta.model_copy(update=update)}
        groups = getattr(resource, "groups", None) if name == USER else None
        if groups:
            changes["groups"] = [
                group.model_copy(
                    update={"ref": type(group.ref)(self.reference_location(base_url, group.ref))}
                )
                if group.ref
                else group
                for group in groups
            ]
        return resource.model_copy(update=changes)

    def creation_response(self, base_url: str, created: Resource[Any]) -> ScimResponse:
        """scim2-server's answer; a new user's JSON is kept for the searches that will read
        it (every response context dumps a resource alike, and a new user is in no group)."""
        response = super().creation_response(base_url, created)
        meta = created.meta
        if (
            self.user_dumps is not None
            and meta is not None
            and meta.resource_type == USER
            and meta.version is not None
            and created.id is not None
            and getattr(created, "groups", None) is None
            and response.body is not None
        ):
            self.user_dumps.put(created.id, meta.version, base_url, response.body)
        return response

    def search_response(
        self,
        base_url: str,
        resource_types: list[Any],
        page: SearchPage,
        search_request: SearchRequest[Any],
    ) -> ScimResponse:
        if search_request.cursor is not None or page.total is None:
            return super().search_response(base_url, resource_types, page, search_request)
        dumped = [self._dump(base_url, resource, search_request) for resource in page.resources]
        body: dict[str, Any] = {
            "schemas": [LIST_RESPONSE],
            "totalResults": page.total,
            "startIndex": search_request.start_index or 1,
            "itemsPerPage": len(dumped),
        }
        if dumped:
            body["Resources"] = dumped
        return ScimResponse(HTTPStatus.OK, body)

    def _dump(
        self, base_url: str, resource: Resource[Any], search_request: SearchRequest[Any]
    ) -> dict[str, Any]:
        meta = resource.meta
        cacheable = (
            meta is not None
            and meta.resource_type == GROUP
            and not getattr(resource, "members", None)
        )
        key: tuple[Any, ...] = ()
        if cacheable:
            assert meta is not None
            key = (
                resource.id,
                meta.version,
                base_url,
                tuple(str(p) for p in search_request.attributes or ()),
                tuple(str(p) for p in search_request.excluded_attributes or ()),
            )
            with self._dumps_lock:
                found = self._dumps.get(key)
                if found is not None:
                    self._dumps.move_to_end(key)
                    return found
        dumped = self.publish(base_url, resource).model_dump(
            scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=search_request
        )
        if cacheable:
            with self._dumps_lock:
                self._dumps[key] = dumped
                if len(self._dumps) > DUMP_CACHE_SIZE:
                    self._dumps.popitem(last=False)
        return dumped


def _references_only_groups(name: str | None, resource: Resource[Any]) -> bool:
    """Whether the only references a resource holds are a User's ``groups`` (or none, for a
    Group without members): then publishing needs no walk over reference paths."""
    if name == GROUP:
        return not getattr(resource, "members", None)
    if name == USER:
        enterprise = getattr(resource, "EnterpriseUser", None)
        return enterprise is None or getattr(enterprise, "manager", None) is None
    return False
