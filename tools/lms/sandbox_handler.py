"""The sandbox's SCIM handler: a PATCH on a Group that only adds or removes members (what the
provisioning client sends, alone or inside a POST /Bulk) goes straight to the storage's
member index instead of scim2-server's generic path, which copies, patches, re-validates and
re-stores the whole group, so its cost grows with the group's size.

Anything else (a PATCH touching other attributes together with members, removing all
members, a malformed member) takes the generic path, so errors and edge cases answer exactly
as scim2-server does. A PATCH that leaves members alone (a rename) is applied to the group
without its members.
"""

from __future__ import annotations

from typing import Any, cast

from pydantic import ValidationError
from scim2_models import PatchOp, Resource, ResourceType
from scim2_models.path import CompareOperator, Comparison
from scim2_server.conditions import Conditions
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.routing import Operation

from tools.lms.sandbox_storage import (
    GROUP,
    GROUP_SCHEMA,
    USER,
    USER_SCHEMA,
    MemberChange,
    SandboxStorage,
    item_model,
)


class SandboxHandler(ScimHandler):
    storage: SandboxStorage

    def patch(self, request: ScimRequest) -> ScimResponse:
        """scim2-server's PATCH, except that a response asking for attributes gets the
        index-held ones (members, groups) put back: the fast path returns a group without
        its members."""
        with self.service.provider:
            target = self.service.route(request, Operation.patch)
            resource_type = self.service.resource_type_at(cast(str, target.endpoint))
            self.service.authorize(request, target, resource_type)
            response_parameters = self.service.read_response_parameters(
                resource_type, request.query
            )
            patch_op = self.service.read_patch(
                resource_type, request.body, request.header("Content-Type")
            )
            with self.storage.operation():
                resource = self.patch_resource(
                    resource_type,
                    cast(str, target.resource_id),
                    patch_op,
                    self.service.read_conditions(request),
                )
                if response_parameters.attributes or response_parameters.excluded_attributes:
                    resource = self.storage.complete(resource, response_parameters)
            response = self.service.patch_response(request.base_url, resource, response_parameters)
            return self.service.me_response(request, target, response)

    def patch_resource(
        self,
        resource_type: ResourceType,
        resource_id: str,
        patch_op: PatchOp[Any],
        conditions: Conditions,
    ) -> Resource[Any]:
        if resource_type.name == USER and not any(
            _touches(op, "groups", USER_SCHEMA) for op in patch_op.operations or []
        ):
            return self._patch_attributes(resource_type, resource_id, patch_op, conditions)
        if resource_type.name != GROUP:
            return super().patch_resource(resource_type, resource_id, patch_op, conditions)
        model = self.service.get_model(resource_type)
        changes = member_changes(patch_op, model)
        if changes is not None:
            return self.storage.patch_members(
                resource_type,
                resource_id,
                changes,
                check=lambda current: self.service.check_preconditions(
                    current, "PATCH", conditions
                ),
            )
        if not any(_touches(op, "members", GROUP_SCHEMA) for op in patch_op.operations or []):
            return self._patch_attributes(resource_type, resource_id, patch_op, conditions)
        return super().patch_resource(resource_type, resource_id, patch_op, conditions)

    def _patch_attributes(
        self,
        resource_type: ResourceType,
        resource_id: str,
        patch_op: PatchOp[Any],
        conditions: Conditions,
    ) -> Resource[Any]:
        """A PATCH that leaves the index-held attribute alone (a group's members, a user's
        groups), applied to the stored resource without it: putting it back only to take it
        out again cost a copy of every membership, twice."""
        current = self.storage.get_bare(resource_type, resource_id)
        assert current.meta is not None
        version = current.meta.version
        patched = self.service.apply_patch(current, patch_op, conditions)
        if patched is None:
            return current
        return self.storage.update_attributes(resource_type, patched, expected_version=version)


def _is_members(path: Any) -> bool:
    return (
        path is not None
        and path.schema in (None, GROUP_SCHEMA)
        and len(path.parts) == 1
        and str(path.parts[0]).casefold() == "members"
    )


def _touches(operation: Any, attribute: str, schema: str) -> bool:
    """Whether a PATCH operation names ``attribute`` (by its path, or as a key of a
    path-less value)."""
    if operation.path is None:
        value = operation.value
        return isinstance(value, dict) and any(
            str(key).casefold() in (attribute, f"{schema}:{attribute}".casefold()) for key in value
        )
    return bool(operation.path.parts) and str(operation.path.parts[0]).casefold() == attribute


def member_changes(patch_op: PatchOp[Any], group_model: type[Any]) -> list[MemberChange] | None:
    """The member adds/removes a PATCH consists of, or None when it is anything more:
    ``add`` on ``members`` with a list of members, ``remove`` on
    ``members[value eq "ID"]``."""
    changes: list[MemberChange] = []
    member_model = item_model(group_model, "members")
    for operation in patch_op.operations or []:
        path: Any = operation.path
        if operation.op == "add" and _is_members(path) and path.value_filter is None:
            if not isinstance(operation.value, list):
                return None
            for item in operation.value:
                try:
                    member: Any = member_model.model_validate(item)
                except ValidationError:
                    return None
                if not isinstance(member.value, str) or not member.value:
                    return None
                extra = (member.type, member.display, member.ref)
                changes.append(
                    MemberChange(True, member.value, None if extra == (None, None, None) else extra)
                )
        elif operation.op == "remove" and _is_members(path):
            node = path.value_filter
            if not (
                isinstance(node, Comparison)
                and node.op == CompareOperator.eq
                and node.attr_path.attr.casefold() == "value"
                and node.attr_path.sub_attr is None
                and isinstance(node.value, str)
            ):
                return None
            changes.append(MemberChange(False, node.value))
        else:
            return None
    return changes
