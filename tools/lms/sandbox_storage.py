"""The sandbox's SCIM storage: scim2-server's ``InMemoryStorage`` with group memberships kept
in an index beside the resources, so a customer-sized LMS (100,000 users, groups of tens of
thousands of members) answers every request the provisioning client sends in time that does
not grow with users or members.

The stock storage keeps ``members`` inside each Group resource: a member search scans every
group's member list, and a PATCH adding one member copies, re-validates and re-indexes the
whole group (seconds at 10,000 members). Here a Group is stored without its members, and
``MemberIndex`` holds group -> members and member -> groups:

- ``members.value eq "ID"`` searches read the reverse index;
- member add/remove PATCHes (``SandboxHandler``) touch only the index and the group's meta;
- the members are put back (materialised) only when a response or a filter needs them;
- a User is answered with its ``groups`` (RFC 7643 §4.1.2: readOnly, server-maintained:
  ``value``, ``$ref``, ``display``, ``type: direct``) from the reverse index, honouring
  ``attributes``/``excludedAttributes``; a membership change gives the user a new version.

It reaches into ``InMemoryStorage``'s private indexes (pinned: scim2-server >=0.8,<0.9) for
the preload, which writes 100,000 users in seconds instead of going through ``create``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast, get_args, get_origin

from scim2_models import (
    BaseModel,
    Meta,
    Resource,
    ResourceType,
    ResponseParameters,
    ScimFilter,
    SearchRequest,
)
from scim2_models.path import CompareOperator, Comparison
from scim2_server.memory import InMemoryStorage, _equality
from scim2_server.utils import parametrize

from tools.lms.sandbox_dumps import UserDumps
from tools.lms.sandbox_workforce import PreloadedPerson

GROUP = "Group"
USER = "User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# A member's sub-attributes besides its value: (type, display, $ref); None when it has none,
# which is what the provisioning client writes (``{"value": id}``), so most cost nothing.
MemberExtra = tuple[str | None, str | None, str | None] | None


class MemberIndex:
    """Group id -> its members (in the order they were added), member id -> its groups."""

    def __init__(self) -> None:
        self.members: dict[str, dict[str, MemberExtra]] = {}
        self.groups_of: dict[str, dict[str, None]] = {}

    def add(self, group_id: str, member_id: str, extra: MemberExtra = None) -> bool:
        members = self.members.setdefault(group_id, {})
        if member_id in members and members[member_id] == extra:
            return False
        members[member_id] = extra
        self.groups_of.setdefault(member_id, {})[group_id] = None
        return True

    def remove(self, group_id: str, member_id: str) -> bool:
        members = self.members.get(group_id, {})
        if member_id not in members:
            return False
        del members[member_id]
        groups = self.groups_of.get(member_id, {})
        groups.pop(group_id, None)
        if not groups:
            self.groups_of.pop(member_id, None)
        return True

    def replace(self, group_id: str, members: dict[str, MemberExtra]) -> list[str]:
        """Set a group's whole member list; returns the members whose membership changed,
        in a stable order (those that left, then those that joined or changed)."""
        before = self.members.get(group_id, {})
        changed = [m for m in before if m not in members]
        changed += [m for m, extra in members.items() if before.get(m, ()) != extra]
        for member_id in list(before):
            if member_id not in members:
                self.remove(group_id, member_id)
        for member_id, extra in members.items():
            self.add(group_id, member_id, extra)
        return changed

    def drop_group(self, group_id: str) -> list[str]:
        members = list(self.members.get(group_id, {}))
        for member_id in members:
            self.remove(group_id, member_id)
        self.members.pop(group_id, None)
        return members

    def drop_member(self, member_id: str) -> list[str]:
        groups = list(self.groups_of.get(member_id, {}))
        for group_id in groups:
            self.remove(group_id, member_id)
        return groups


@dataclass(frozen=True)
class MemberChange:
    """One member added to or removed from a group by a PATCH operation."""

    add: bool
    member_id: str
    extra: MemberExtra = None


def item_model(model: type[BaseModel], field: str) -> type[BaseModel]:
    """The class of a multi-valued attribute's items (the provider composes its own)."""
    for arg in get_args(model.model_fields[field].annotation):
        if get_origin(arg) is list:
            return cast(type[BaseModel], get_args(arg)[0])
    raise TypeError(f"{model.__name__}.{field} is not a multi-valued attribute")


def _names(path: Any, attribute: str) -> bool:
    """Whether an ``attributes`` path designates ``attribute`` or one of its sub-attributes."""
    return bool(path.parts) and str(path.parts[0]).casefold() == attribute.casefold()


def wants(parameters: ResponseParameters[Any] | None, attribute: str) -> bool:
    """Whether a response under these parameters holds ``attribute`` (returned by default)."""
    if parameters is None:
        return True
    if parameters.attributes:
        return any(_names(path, attribute) for path in parameters.attributes)
    if parameters.excluded_attributes:
        return not any(
            _names(path, attribute) and len(path.parts) == 1
            for path in parameters.excluded_attributes
        )
    return True


def _mentions(scim_filter: ScimFilter[Any] | None, attribute: str) -> bool:
    return scim_filter is not None and attribute.casefold() in str(scim_filter).casefold()


class SandboxStorage(InMemoryStorage):
    """``InMemoryStorage`` with members in a ``MemberIndex``; see the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.index = MemberIndex()
        self._member_model: type[BaseModel] | None = None
        self._membership_model: type[BaseModel] | None = None
        # One validated ``groups`` entry per (group, display name), copied into each answer.
        self._memberships: dict[tuple[str, str | None], BaseModel] = {}
        # The users' JSON as searches answer them; a membership change carries it over.
        self.user_dumps = UserDumps()

    # --- reads ---------------------------------------------------------------------------

    def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        with self.lock:
            stored = self._stored(resource_type, resource_id)
            return self.complete(stored.model_copy(deep=True), response_parameters)

    def get_bare(self, resource_type: ResourceType, resource_id: str) -> Resource[Any]:
        """The stored resource without its index-held attributes (a group without members)."""
        with self.lock:
            return self._stored(resource_type, resource_id).model_copy(deep=True)

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> Any:
        with self.lock:
            page = super().search(resource_types, search_request, position=position)
            page.resources = [self.complete(r, search_request) for r in page.resources]
            return page

    def complete(
        self, resource: Resource[Any], parameters: ResponseParameters[Any] | None
    ) -> Resource[Any]:
        """Put a stored resource's index-held attributes back, when the response holds them:
        a Group's ``members``, a User's ``groups``."""
        with self.lock:
            name = resource.meta.resource_type if resource.meta is not None else None
            resource_id = cast(str, resource.id)
            if name == GROUP:
                members = (
                    self._member_list(type(resource), resource_id)
                    if wants(parameters, "members")
                    else None
                )
                return resource.model_copy(update={"members": members})
            if name == USER and "groups" in type(resource).model_fields:
                groups = (
                    self._membership_list(type(resource), resource_id)
                    if wants(parameters, "groups")
                    else None
                )
                return resource.model_copy(update={"groups": groups})
            return resource

    def _candidates(
        self, names: list[str | None], scim_filter: ScimFilter[Any] | None
    ) -> list[Resource[Any]]:
        """``members.value eq "ID"`` on Groups reads the reverse index, giving each group with
        that one member (enough for the filter to match; the search completes the page). Any
        other filter on members (or on a user's groups) sees the resources completed."""
        member_id = _member_value_equality(names, scim_filter)
        if member_id is not None:
            groups = self._resources.get(GROUP, {})
            found = []
            for group_id in self.index.groups_of.get(member_id, {}):
                group = groups[group_id]
                member = self._member(
                    type(group), member_id, self.index.members[group_id][member_id]
                )
                found.append(group.model_copy(update={"members": [member]}))
            return found
        candidates = super()._candidates(names, scim_filter)
        if _mentions(scim_filter, "members") or _mentions(scim_filter, "groups"):
            return [self.complete(r, None) for r in candidates]
        return candidates

    def _member_list(self, model: type[BaseModel], group_id: str) -> list[BaseModel] | None:
        members = self.index.members.get(group_id)
        if not members:
            return None
        return [self._member(model, member_id, extra) for member_id, extra in members.items()]

    def _member(self, group_model: type[BaseModel], member_id: str, extra: MemberExtra) -> Any:
        if self._member_model is None:
            self._member_model = item_model(group_model, "members")
        fields: dict[str, Any] = {"value": member_id}
        if extra is not None:
            kind, display, ref = extra
            fields.update({"type": kind, "display": display, "$ref": ref})
        return self._member_model.model_validate(fields)

    def _membership_list(self, model: type[BaseModel], user_id: str) -> list[BaseModel] | None:
        group_ids = self.index.groups_of.get(user_id)
        if not group_ids:
            return None
        if self._membership_model is None:
            self._membership_model = item_model(model, "groups")
        groups = self._resources.get(GROUP, {})
        found = []
        for group_id in group_ids:
            display = getattr(groups.get(group_id), "display_name", None)
            membership = self._memberships.get((group_id, display))
            if membership is None:
                membership = self._membership_model.model_validate(
                    {
                        "value": group_id,
                        "$ref": f"Groups/{group_id}",
                        "display": display,
                        "type": "direct",
                    }
                )
                self._memberships[(group_id, display)] = membership
            found.append(membership.model_copy())
        return found

    # --- writes --------------------------------------------------------------------------

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        """``InMemoryStorage.create`` without its second deep copy (a third of a
        millisecond for a user): what it returns is completed into a copy anyway, and
        stored values are replaced, never changed in place."""
        with self.lock:
            members = _members_of(resource)
            created = _without_index_held(resource).model_copy(deep=True)
            created.id = self.generate_id(resource_type, created)
            now = self.clock()
            created.meta = Meta(
                resource_type=resource_type.name,
                created=now,
                last_modified=now,
                version=self.next_version(),
            )
            values = self._values_of(created)
            self._check_uniqueness(created, values)
            self._store(created, values)
            if members is not None:
                self._replace_members(created.id, members)
            return self.complete(created, None)

    def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        """A whole new state (PUT, or a PATCH the fast path does not cover): a Group's
        ``members`` in it replace the indexed ones."""
        with self.lock:
            members = _members_of(resource) if resource_type.name == GROUP else None
            updated = super().update(
                resource_type, _without_index_held(resource), expected_version=expected_version
            )
            if resource_type.name == GROUP:
                self._replace_members(cast(str, updated.id), members or {})
            return self.complete(updated, None)

    def update_attributes(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        """Like ``update``, for a resource patched without its index-held attribute (a
        group's members, a user's groups): it stays as it is. ``InMemoryStorage.update``
        without its final deep copy, as in ``create``."""
        with self.lock:
            resource = _without_index_held(resource)
            stored = self._stored(resource_type, resource.id)
            self._check_version(stored, expected_version)
            updated = type(resource).model_validate(resource.model_dump())
            assert stored.meta is not None
            updated.meta = stored.meta.model_copy(
                update={
                    "location": None,
                    "last_modified": self.clock(),
                    "version": self.next_version(),
                }
            )
            values = self._values_of(updated)
            self._check_uniqueness(updated, values)
            self._store(updated, values)
            return updated.model_copy()

    def patch_members(
        self,
        resource_type: ResourceType,
        group_id: str,
        changes: list[MemberChange],
        *,
        check: Callable[[Resource[Any]], object],
    ) -> Resource[Any]:
        """Apply member adds/removes to a group; ``check`` sees the group (without members)
        first, for the request's preconditions. Returns the group without its members."""
        with self.lock:
            stored = self._stored(resource_type, group_id)
            check(stored)
            touched: dict[str, None] = {}  # in the request's order: versions are handed
            for change in changes:  # out in touch order, the same on every run
                applied = (
                    self.index.add(group_id, change.member_id, change.extra)
                    if change.add
                    else self.index.remove(group_id, change.member_id)
                )
                if applied:
                    touched[change.member_id] = None
            if touched:
                self._touch(GROUP, group_id)
                for member_id in touched:
                    self._touch(USER, member_id)
            # A shallow copy is enough: stored values are replaced, never changed in place.
            return self._stored(resource_type, group_id).model_copy()

    def delete(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        expected_version: str | None = None,
    ) -> None:
        """Deleting a user takes it out of its groups; deleting a group, its members out of
        it (each touched resource gets a new version)."""
        with self.lock:
            super().delete(resource_type, resource_id, expected_version=expected_version)
            if resource_type.name == GROUP:
                for member_id in self.index.drop_group(resource_id):
                    self._touch(USER, member_id)
            else:
                for group_id in self.index.drop_member(resource_id):
                    self._touch(GROUP, group_id)

    def _replace_members(self, group_id: str, members: dict[str, MemberExtra]) -> None:
        for member_id in self.index.replace(group_id, members):
            self._touch(USER, member_id)

    def _touch(self, name: str, resource_id: str) -> None:
        """A new version (and lastModified) for a resource whose index-held part changed."""
        stored = self._resources.get(name, {}).get(resource_id)
        if stored is None or stored.meta is None:
            return
        meta = stored.meta.model_copy(
            update={"version": self.next_version(), "last_modified": self.clock()}
        )
        self._resources[name][resource_id] = stored.model_copy(update={"meta": meta})
        if name == USER:
            self.user_dumps.retag(resource_id, stored.meta.version, meta)

    # --- preload -------------------------------------------------------------------------

    def preload(
        self,
        user_type: ResourceType,
        user_model: type[Resource[Any]],
        people: Iterable[PreloadedPerson],
    ) -> int:
        """Write ``people`` as users with their memberships straight into the indexes: each
        user is a copy of one validated template with its own values (``_copied``), so
        100,000 take seconds, not the minutes ``create`` would; returns how many were
        written. Each person's ``group_ids`` are catalog ids, the groups' ``externalId``."""
        with self.lock:
            template: Any = user_model.model_validate(
                {
                    "userName": "template@preloaded.example",
                    "name": {"givenName": "T", "familyName": "T"},
                    "emails": [
                        {"value": "template@preloaded.example", "type": "work", "primary": True}
                    ],
                    "active": True,
                    ENTERPRISE_SCHEMA: {"employeeNumber": "T", "department": "T"},
                }
            )
            name_t, email_t = template.name, template.emails[0]
            enterprise_field = "EnterpriseUser"  # the provider's field for the extension
            enterprise_t = getattr(template, enterprise_field)
            group_by_external = {
                g.external_id: cast(str, g.id) for g in self._resources.get(GROUP, {}).values()
            }
            filter_model = parametrize(ScimFilter, user_model)
            external_binding = _equality(filter_model('externalId eq "x"'))
            user_name_urn = f"{USER_SCHEMA}:userName"
            user_name_binding = _equality(filter_model('userName eq "x"'))
            assert external_binding is not None
            assert user_name_binding is not None
            external_index = self._equality_index(USER, external_binding)
            owners = self._owners.setdefault(user_name_urn, {})
            users = self._resources.setdefault(USER, {})
            now = self.clock()
            meta_t = Meta(resource_type=USER, created=now, last_modified=now)
            count = 0
            for person in people:
                user_id = uuid.uuid4().hex
                key = (USER, user_id)
                user_name = user_name_binding.comparable(person.user_name)
                if user_name in owners:
                    raise ValueError(f"userName {person.user_name!r} is taken")
                user = _copied(
                    template,
                    {
                        "id": user_id,
                        "external_id": person.external_id,
                        "user_name": person.user_name,
                        "name": _copied(
                            name_t,
                            {"given_name": person.given_name, "family_name": person.family_name},
                        ),
                        "display_name": person.display_name,
                        "title": person.title,
                        "user_type": person.user_type,
                        "emails": [_copied(email_t, {"value": person.user_name})],
                        enterprise_field: _copied(
                            enterprise_t,
                            {
                                "employee_number": person.external_id,
                                "department": person.department,
                            },
                        ),
                        "meta": _copied(meta_t, {"version": self.next_version()}),
                    },
                )
                users[user_id] = user
                self._unique_values[key] = {user_name_urn: user_name}
                owners[user_name] = key
                external = external_binding.comparable(person.external_id)
                self._equal_values.setdefault(key, {})[external_binding] = external
                external_index.setdefault(external, set()).add(user_id)
                for catalog_id in person.group_ids:
                    group_id = group_by_external.get(catalog_id)
                    if group_id is not None:
                        self.index.add(group_id, user_id)
                count += 1
            return count


ModelT = TypeVar("ModelT", bound=BaseModel)


def _copied(model: ModelT, changes: dict[str, Any]) -> ModelT:
    """``model.model_copy(update=changes)`` without pydantic's per-call bookkeeping (a tenth
    of its cost; the preload makes five per user). Like it, the copy shares the values it
    does not change; the storage never mutates a stored value in place (reads deep-copy)."""
    copied = model.__class__.__new__(model.__class__)
    object.__setattr__(copied, "__dict__", {**model.__dict__, **changes})
    object.__setattr__(
        copied, "__pydantic_fields_set__", model.__pydantic_fields_set__ | changes.keys()
    )
    object.__setattr__(copied, "__pydantic_extra__", _shallow(model.__pydantic_extra__))
    object.__setattr__(copied, "__pydantic_private__", _shallow(model.__pydantic_private__))
    return copied


def _shallow(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: dict(v) if isinstance(v, dict) else v for k, v in values.items()}


def _member_value_equality(
    names: list[str | None], scim_filter: ScimFilter[Any] | None
) -> str | None:
    """The member id of a ``members.value eq "ID"`` filter on Groups alone, else None."""
    if names != [GROUP] or scim_filter is None:
        return None
    node = scim_filter.ast
    if not isinstance(node, Comparison) or node.op != CompareOperator.eq:
        return None
    path = node.attr_path
    if path.uri not in (None, GROUP_SCHEMA) or not isinstance(node.value, str):
        return None
    if path.attr.casefold() != "members" or (path.sub_attr or "").casefold() != "value":
        return None
    return node.value


def _members_of(resource: Resource[Any]) -> dict[str, MemberExtra] | None:
    members = getattr(resource, "members", None)
    if members is None:
        return None
    found: dict[str, MemberExtra] = {}
    for member in members:
        if member.value is None:
            continue
        extra = (member.type, member.display, member.ref)
        found[member.value] = None if extra == (None, None, None) else extra
    return found


def _without_index_held(resource: Resource[Any]) -> Resource[Any]:
    fields = type(resource).model_fields
    cleared: dict[str, Any] = {name: None for name in ("members", "groups") if name in fields}
    return resource.model_copy(update=cleared) if cleared else resource
