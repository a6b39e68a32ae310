"""SCIM 2.0 (RFC 7643/7644) connector to the LMS: users keyed by the HRIS external id, and
groups keyed by the catalog id (stored as the group's ``externalId``).

Every method is safe to call again after a crash or a timeout: creates resolve 409 by looking
the user up, updates write only what differs, membership changes are no-ops when already
applied. Payloads are built and checked with scim2-models; httpx is only the transport.
How an employee becomes a SCIM user (and an LMS answer an ``LMSUser``) is
``tools.lms.scim_mapping``.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError
from scim2_models import BaseModel as ScimBaseModel
from scim2_models import (
    Context,
    Error,
    Group,
    ListResponse,
    Resource,
)

from core.catalog import Catalog
from core.employee import Employee
from core.settings import Settings
from tools.lms.auth import BearerToken, ClientCredentials
from tools.lms.errors import (
    LMSConflict,
    LMSError,
    LMSRejected,
    LMSUnavailable,
    error_for_status,
)
from tools.lms.metering import lms_request_hooks
from tools.lms.models import LMSAccount, LMSGroup, LMSUser, UserWrite
from tools.lms.retry import RETRYABLE_STATUSES, RetryableStatusError, RetryPolicy
from tools.lms.scim_bulk import MembershipChange, bulk_request, failures
from tools.lms.scim_mapping import (
    ScimUser,
    UserRequest,
    changed_attributes,
    creation_payload,
    patch_op,
    to_lms_group,
    to_lms_user,
    user_patch,
    user_requests,
)
from tools.lms.scim_or import MAX_TERMS, or_filters, refuses_or
from tools.lms.scim_user_bulk import UserBulk, UserResult, WrittenUsers, existing_or_conflict

log = logging.getLogger(__name__)

SCIM_JSON = "application/scim+json"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
GROUP_ATTRIBUTES = "displayName,externalId"
# A batched group-side read brings each matched group with all its members; past this many
# member entries in one answer, one search per user is cheaper (see ``_member_groups``).
GROUP_SIDE_MEMBERS_MAX = 5000

ResourceT = TypeVar("ResourceT", bound=Resource[Any])


@functools.cache
def list_response(model: type[ResourceT]) -> type[ListResponse[ResourceT]]:
    """``ListResponse[model]``, built once and kept. Pydantic caches parameterised generics
    only weakly, so a subscript nobody holds is garbage and the next one builds the class
    again (~70 ms: scim2-models rebuilds its tagged union and pydantic re-reads docstrings);
    that was half of all provisioning time."""
    return ListResponse[model]  # type: ignore[valid-type]


def filter_eq(attribute: str, value: str) -> str:
    """A SCIM ``eq`` filter; the value is a JSON string literal (RFC 7644 §3.4.2.2), so quotes
    and backslashes in ids cannot break out of it."""
    return f"{attribute} eq {json.dumps(value, ensure_ascii=False)}"


class ScimLMS:
    """A synchronous SCIM client for one LMS tenant.

    ``writes`` counts the writes the LMS accepted through this instance, so a caller can
    record in provenance whether applying a plan changed anything; ``thread_writes`` counts
    only the calling thread's, for workers that share one client across threads.
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        timeout_s: float = 10.0,
        max_retries: int = 4,
        max_retry_after_s: float = 30.0,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 8.0,
        page_size: int = 100,
        bulk: bool = True,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = auth
        self._timeout = httpx.Timeout(timeout_s)
        self._policy = RetryPolicy(
            max_retries=max_retries,
            backoff_base_s=backoff_base_s,
            backoff_max_s=backoff_max_s,
            max_retry_after_s=max_retry_after_s,
        )
        self._page_size = page_size
        self._bulk_wanted = bulk
        self._config: dict[str, Any] | None = None  # ServiceProviderConfig, read once
        self._fills_user_groups = False  # learned: the LMS fills the read-only User.groups
        # Learned: the LMS answers ``or`` filters on Users (externalId), on Groups
        # (members.value), and batched group-side reads stay small.
        self._or_users = True
        self._or_members = True
        self._owns_http = http is None
        self._http = (
            http if http is not None else httpx.Client(event_hooks=lms_request_hooks(base_url))
        )
        self._writes_lock = threading.Lock()
        self._thread_counts = threading.local()
        self.writes = 0

    @classmethod
    def from_settings(cls, settings: Settings, *, http: httpx.Client | None = None) -> ScimLMS:
        """OAuth client credentials when a token URL is configured, else the static token,
        else no credentials (the bundled sandbox)."""
        auth: httpx.Auth | None = None
        if settings.lms_oauth_token_url:
            if not settings.lms_oauth_client_id or settings.lms_oauth_client_secret is None:
                raise ValueError(
                    "TALENTSYNC_LMS_OAUTH_TOKEN_URL needs TALENTSYNC_LMS_OAUTH_CLIENT_ID "
                    "and TALENTSYNC_LMS_OAUTH_CLIENT_SECRET"
                )
            auth = ClientCredentials(
                settings.lms_oauth_token_url,
                settings.lms_oauth_client_id,
                settings.lms_oauth_client_secret.get_secret_value(),
                settings.lms_oauth_scope,
            )
        elif settings.lms_token is not None:
            auth = BearerToken(settings.lms_token.get_secret_value())
        return cls(
            settings.lms_url,
            auth=auth,
            timeout_s=settings.lms_timeout_s,
            max_retries=settings.lms_max_retries,
            max_retry_after_s=settings.lms_max_retry_after_s,
            bulk=settings.lms_bulk,
            http=http,
        )

    @property
    def thread_writes(self) -> int:
        count: int = getattr(self._thread_counts, "writes", 0)
        return count

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> ScimLMS:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- users ---------------------------------------------------------------------------

    def find_user(self, external_id: str) -> LMSUser | None:
        found = list(
            self._search("/Users", ScimUser, filter_eq("externalId", external_id), limit=2)
        )
        if len(found) > 1:
            raise LMSError(f"several LMS users share externalId {external_id!r}")
        return to_lms_user(found[0]) if found else None

    def create_user(self, employee: Employee) -> LMSUser:
        """Create the user; when the LMS already holds one with this external id (a retry
        after a lost response, or a concurrent worker), return that one instead."""
        return self.create_account(employee).user

    def read_account(self, external_id: str) -> LMSAccount | None:
        """The user and its direct group memberships, in one request when the LMS fills the
        read-only ``User.groups`` (RFC 7643 §4.1.2), else with one group search more.

        Whether it does is learned from the answers: once any user arrived with ``groups``,
        a user without them is a member of nothing.
        """
        found = list(
            self._search("/Users", ScimUser, filter_eq("externalId", external_id), limit=2)
        )
        if len(found) > 1:
            raise LMSError(f"several LMS users share externalId {external_id!r}")
        if not found:
            return None
        return self._accounts(found)[0]

    def read_accounts(self, external_ids: Sequence[str]) -> dict[str, LMSAccount]:
        """``read_account`` for many employees, keyed by external id in the order asked
        (those the LMS does not hold are left out): one ``GET /Users`` per chunk of ids
        joined by ``or``, and, when the LMS does not fill ``User.groups``, one group search
        per chunk of users.

        Chunks hold at most the LMS's ``filter.maxResults`` and ``scim_or.MAX_TERMS`` ids
        (and fit a URL). An LMS that refuses ``or`` is read one id at a time from then on.
        Several users sharing one of the ids raise ``LMSError`` naming it, as
        ``read_account`` does, for the whole batch.
        """
        wanted = list(dict.fromkeys(external_ids))
        accounts: dict[str, LMSAccount] = {}
        done = 0
        if len(wanted) > 1 and self._or_users:
            terms = [filter_eq("externalId", external_id) for external_id in wanted]
            for positions, scim_filter in or_filters(terms, max_terms=self._or_terms()):
                chunk = [wanted[i] for i in positions]
                try:
                    found = list(self._search("/Users", ScimUser, scim_filter))
                except LMSError as error:
                    if len(chunk) < 2 or not refuses_or(error):
                        raise
                    self._stop_or("Users", "externalId", error)
                    break
                accounts.update(self._chunk_accounts(chunk, found))
                done = positions.stop
        for external_id in wanted[done:]:
            account = self.read_account(external_id)
            if account is not None:
                accounts[external_id] = account
        return {e: accounts[e] for e in wanted if e in accounts}

    def _chunk_accounts(self, chunk: list[str], found: list[ScimUser]) -> dict[str, LMSAccount]:
        """The users one ``or`` search found, matched to the ids asked for (a server that
        compares externalId ignoring case, as ``read_account`` would be answered, too)."""
        asked = set(chunk)
        folded: dict[str, str | None] = {}
        for external_id in chunk:
            key = external_id.casefold()
            folded[key] = external_id if key not in folded else None  # None: ambiguous
        by_id: dict[str, list[ScimUser]] = {}
        for resource in found:
            external_id = resource.external_id or ""
            owner = external_id if external_id in asked else folded.get(external_id.casefold())
            if owner is None:
                log.warning("LMS answered a user %s that matches no id asked for", resource.id)
                continue
            by_id.setdefault(owner, []).append(resource)
        for external_id, resources in by_id.items():
            if len(resources) > 1:
                raise LMSError(f"several LMS users share externalId {external_id!r}")
        owners = list(by_id)
        accounts = self._accounts([by_id[owner][0] for owner in owners])
        return dict(zip(owners, accounts, strict=True))

    def create_account(self, employee: Employee) -> LMSAccount:
        """``create_user``, answered as an account: a user just created is in no group; one
        that already existed (a retry after a lost response, a concurrent worker) is read."""
        return self._create(employee, creation_payload(employee))

    def _create(self, employee: Employee, payload: dict[str, Any]) -> LMSAccount:
        try:
            response = self._request("POST", "/Users", body=payload)
        except LMSConflict as conflict:
            return existing_or_conflict(employee, conflict, self.read_account(employee.external_id))
        created = _parse(ScimUser, response, Context.RESOURCE_CREATION_RESPONSE)
        return LMSAccount(user=to_lms_user(created), group_ids=frozenset())

    def write_user(self, write: UserWrite) -> LMSAccount | None:
        """Create the user, or update what differs and (de)activate it, one request each
        (``scim_mapping.user_requests`` decides which): the account as read, or as
        created; ``None`` when the LMS should not hold a user it does not hold."""
        return self._write_user(write, user_requests(write))

    def _write_user(
        self, write: UserWrite, requests: list[UserRequest] | None
    ) -> LMSAccount | None:
        if requests is None:
            return None
        if write.account is None:
            (create,) = requests
            return self._create(write.employee, create.data)
        for request in requests:
            self._request(request.method, request.path, body=request.data)
        return write.account

    def write_users_many(self, writes: Sequence[UserWrite]) -> WrittenUsers:
        """``write_user`` for many users, one result per write in order: the account,
        ``None``, or the ``LMSError`` its ``write_user`` would raise; ``.writes`` holds how
        many writes the LMS took for each.

        All the requests go in as few ``POST /Bulk`` as the LMS's ``maxOperations`` and
        ``maxPayloadSize`` allow; when it offers no bulk (or one request is all there is),
        each write is made by ``write_user``. A refused operation fails its write alone (a
        throttled or failed one with ``LMSUnavailable``: the worker retries it); a bulk
        that fails as a whole (network, 5xx after retries) raises, the bulks before it
        staying done: each write sends only what differs, so the batch can simply be read
        and written again.
        """
        planned = [user_requests(write) for write in writes]
        count = sum(len(requests or []) for requests in planned)
        max_operations, max_payload = self._bulk_limits() if count > 1 else (0, None)
        if max_operations < 2:
            written = WrittenUsers()
            for write, requests in zip(writes, planned, strict=True):
                before = self.thread_writes
                try:
                    written.append(self._write_user(write, requests))
                except LMSError as error:
                    written.append(error)
                written.writes.append(self.thread_writes - before)
            return written
        bulk = UserBulk(writes, planned)
        for chunk in bulk.chunks(max_operations, max_payload):
            response = self._request("POST", "/Bulk", body=bulk.body(chunk), writes=0)
            try:
                answer = response.json()
            except ValueError:
                answer = None
            self._count_writes(bulk.record(chunk, answer))
        refused = bulk.refused_creates()
        if refused:
            bulk.resolve(self._existing_accounts([e.external_id for e in refused]))
        return bulk.results()

    def _existing_accounts(self, external_ids: list[str]) -> list[UserResult]:
        """The accounts refused creates ran into, read in one search, or one by one when
        that search fails, so a failed read fails only its own write."""
        try:
            accounts = self.read_accounts(external_ids)
        except LMSError:
            found: list[UserResult] = []
            for external_id in external_ids:
                try:
                    found.append(self.read_account(external_id))
                except LMSError as error:
                    found.append(error)
            return found
        return [accounts.get(external_id) for external_id in external_ids]

    def _accounts(self, resources: list[ScimUser]) -> list[LMSAccount]:
        """Accounts for users as the LMS answered them: groups from ``User.groups``, or,
        for an LMS that never fills it, read from the groups' side."""
        if any(resource.groups is not None for resource in resources):
            self._fills_user_groups = True
        users = [to_lms_user(resource) for resource in resources]
        group_side = [
            user.id
            for user, resource in zip(users, resources, strict=True)
            if resource.groups is None and not self._fills_user_groups
        ]
        from_groups = self._member_groups(group_side) if group_side else {}
        return [
            LMSAccount(
                user=user,
                group_ids=frozenset(from_groups[user.id])
                if user.id in from_groups
                else frozenset(
                    str(m.value)
                    for m in resource.groups or []
                    if m.value is not None and m.type in (None, "direct")
                ),
            )
            for user, resource in zip(users, resources, strict=True)
        ]

    def update_user(self, user: LMSUser, employee: Employee) -> bool:
        """Write the attributes that differ from ``user`` (a snapshot the caller just read).

        ``active`` is deliberately left alone: deactivation is a reviewed decision and goes
        through ``set_active``, never as a side effect of a profile update.
        """
        changed = changed_attributes(user, employee)
        if not changed:
            return False
        self._patch_user(user.id, changed)
        return True

    def set_active(self, user: LMSUser, active: bool) -> bool:
        if user.active == active:
            return False
        self._patch_user(user.id, {"active": active})
        return True

    def _patch_user(self, user_id: str, values: dict[str, Any]) -> None:
        self._request("PATCH", f"/Users/{user_id}", body=user_patch(values))

    # --- groups --------------------------------------------------------------------------

    def groups(self) -> dict[str, LMSGroup]:
        """All LMS groups that carry an externalId, keyed by it; groups LMS admins made by
        hand (no externalId) are not TalentSync's to manage and are left out."""
        found: dict[str, LMSGroup] = {}
        for resource in self._search("/Groups", Group, None, attributes=GROUP_ATTRIBUTES):
            group = to_lms_group(resource)
            if group.external_id is None:
                continue
            if group.external_id in found:
                log.warning(
                    "LMS groups %s and %s share externalId %s; using the first",
                    found[group.external_id].id,
                    group.id,
                    group.external_id,
                )
                continue
            found[group.external_id] = group
        return found

    def ensure_groups(self, catalog: Catalog) -> dict[str, LMSGroup]:
        """Create the catalog groups the LMS lacks and rename those whose display name the
        catalog changed; returns every LMS group keyed by externalId."""
        groups = self.groups()
        for entry in catalog.groups:
            existing = groups.get(entry.id)
            if existing is None:
                resource = Group(display_name=entry.display_name, external_id=entry.id)
                response = self._request(
                    "POST",
                    "/Groups",
                    body=resource.model_dump(scim_ctx=Context.RESOURCE_CREATION_REQUEST),
                )
                groups[entry.id] = to_lms_group(
                    _parse(Group, response, Context.RESOURCE_CREATION_RESPONSE)
                )
            elif existing.display_name != entry.display_name:
                self._patch_group(
                    existing.id,
                    {"op": "replace", "path": "displayName", "value": entry.display_name},
                )
                groups[entry.id] = LMSGroup(existing.id, entry.id, entry.display_name)
        return groups

    def member_group_ids(self, user_id: str) -> set[str]:
        """Read from the groups' side: many SCIM servers (scim2-server among them) never fill
        in ``User.groups``."""
        return {
            str(resource.id)
            for resource in self._search(
                "/Groups", Group, filter_eq("members.value", user_id), attributes=GROUP_ATTRIBUTES
            )
        }

    def _member_groups(self, user_ids: list[str]) -> dict[str, set[str]]:
        """``member_group_ids`` for many users: one group search per chunk of users, with
        ``members.value eq`` joined by ``or``, each group answered with its members' ids.

        A SCIM search cannot narrow a group's member list to the users asked about, so a
        matched group comes with all its members: when one answer carried more than
        ``GROUP_SIDE_MEMBERS_MAX`` of them (groups of thousands), the groups are read one
        search per user from then on, as they are for an LMS that refuses ``or``."""
        groups: dict[str, set[str]] = {user_id: set() for user_id in user_ids}
        done = 0
        if len(user_ids) > 1 and self._or_members:
            terms = [filter_eq("members.value", user_id) for user_id in user_ids]
            for positions, scim_filter in or_filters(terms, max_terms=self._or_terms()):
                asked = {user_ids[i] for i in positions}
                entries = 0
                try:
                    for resource in self._search(
                        "/Groups", Group, scim_filter, attributes="members.value"
                    ):
                        for member in resource.members or []:
                            entries += 1
                            if member.value in asked:
                                groups[member.value].add(str(resource.id))
                except LMSError as error:
                    if len(asked) < 2 or not refuses_or(error):
                        raise
                    self._stop_or("Groups", "members.value", error)
                    break
                done = positions.stop
                if entries > GROUP_SIDE_MEMBERS_MAX and self._or_members:
                    self._or_members = False
                    log.info(
                        "LMS groups answered %s members for %s users; reading each user's "
                        "groups by its own search from now on",
                        entries,
                        len(asked),
                    )
                    break
        for user_id in user_ids[done:]:
            groups[user_id] = self.member_group_ids(user_id)
        return groups

    def _stop_or(self, endpoint: str, attribute: str, error: LMSError) -> None:
        """Remember that the LMS refused an ``or`` filter here (logged once)."""
        if endpoint == "Users":
            was, self._or_users = self._or_users, False
        else:
            was, self._or_members = self._or_members, False
        if was:
            log.info(
                "LMS refused an or of %s filters on /%s (%s); one search per value from now on",
                attribute,
                endpoint,
                error,
            )

    def _or_terms(self) -> int:
        """Ids one ``or`` search may carry: ``MAX_TERMS``, or fewer when the LMS's
        ``filter.maxResults`` says a page holds fewer."""
        found = self._provider_config().get("filter")
        max_results = found.get("maxResults") if isinstance(found, dict) else None
        if isinstance(max_results, int) and not isinstance(max_results, bool) and max_results > 0:
            return min(MAX_TERMS, max_results)
        return MAX_TERMS

    def add_member(self, group_id: str, user_id: str) -> None:
        self._patch_group(group_id, {"op": "add", "path": "members", "value": [{"value": user_id}]})

    def change_memberships(self, user_id: str, *, add: list[str], remove: list[str]) -> None:
        """Add the user to the groups ``add`` and take it out of ``remove`` (LMS group ids):
        in one ``POST /Bulk`` when the LMS offers bulk, else one PATCH per group."""
        self.change_memberships_many([(user_id, add, remove)])

    def change_memberships_many(self, changes: Sequence[tuple[str, list[str], list[str]]]) -> None:
        """``change_memberships`` for many users: ``(user id, groups to add, groups to leave)``
        each, all sent in as few ``POST /Bulk`` as the LMS's ``maxOperations`` allows, in
        order (a user's adds, then its removes), else one PATCH per group.

        A refused or failed operation raises as ``change_memberships`` does, and the
        operations after its bulk are not sent; every change is idempotent, so the whole
        batch (or each user's part, to learn whose failed) can simply be sent again.
        """
        operations = [
            change
            for user_id, add, remove in changes
            for change in (
                *(MembershipChange(g, user_id, add=True) for g in add),
                *(MembershipChange(g, user_id, add=False) for g in remove),
            )
        ]
        limit = self._bulk_operations() if len(operations) > 1 else 0
        if limit < 2:
            for change in operations:
                if change.add:
                    self.add_member(change.group_id, change.user_id)
                else:
                    self.remove_member(change.group_id, change.user_id)
            return
        for start in range(0, len(operations), limit):
            self._bulk(operations[start : start + limit])

    def _provider_config(self) -> dict[str, Any]:
        """The LMS's ServiceProviderConfig (RFC 7643 §5), read once; empty when it cannot
        be read (then no bulk, and ``or`` searches of ``MAX_TERMS`` ids)."""
        if self._config is None:
            try:
                config = self._request("GET", "/ServiceProviderConfig").json()
            except (LMSError, ValueError):
                config = None
            if not isinstance(config, dict):
                log.info("LMS ServiceProviderConfig unreadable; no bulk, default search sizes")
                config = {}
            self._config = config
        return self._config

    def _bulk_operations(self) -> int:
        """Operations one ``/Bulk`` may carry, from the LMS's ServiceProviderConfig; 0 when
        bulk is off, not offered, or the config cannot be read."""
        return self._bulk_limits()[0]

    def _bulk_limits(self) -> tuple[int, int | None]:
        """``_bulk_operations``, and the bytes one ``/Bulk`` body may hold (``None``: the
        LMS names no limit)."""
        if not self._bulk_wanted:
            return 0, None
        try:
            bulk = self._provider_config().get("bulk") or {}
            if bulk.get("supported") is not True:
                return 0, None
            payload = bulk.get("maxPayloadSize")
            limit = int(payload) if isinstance(payload, int) and payload > 0 else None
            return int(bulk.get("maxOperations") or 0), limit
        except (ValueError, AttributeError, TypeError):
            return 0, None

    def _bulk(self, changes: list[MembershipChange]) -> None:
        body = bulk_request([(c, c.patch(filter_eq("value", c.user_id))) for c in changes])
        response = self._request("POST", "/Bulk", body=body, writes=0)
        try:
            failed = failures(response.json(), changes)
        except ValueError:
            failed = None
        if failed is None:
            raise LMSError("LMS answered POST /Bulk without a status for every operation")
        refused = [f for f in failed if not f.nothing_to_remove]
        self._count_writes(len(changes) - len(failed))
        if not refused:
            return
        first = refused[0]
        label = f"PATCH /Groups/{first.change.group_id} (in POST /Bulk)"
        if any(f.retryable for f in refused):
            raise LMSUnavailable(f"LMS failed {label}", status=first.status)
        raise LMSRejected(
            f"LMS refused {label}",
            status=first.status,
            scim_type=first.scim_type,
            detail=first.detail,
        )

    def remove_member(self, group_id: str, user_id: str) -> None:
        """Removing a non-member is a no-op (RFC 7644 §3.5.2.2 treats a missing target on
        remove as success); a ``noTarget`` answer from stricter servers counts as done too."""
        try:
            self._patch_group(
                group_id, {"op": "remove", "path": f"members[{filter_eq('value', user_id)}]"}
            )
        except LMSRejected as refused:
            if refused.scim_type != "noTarget":
                raise
            log.info("LMS group %s had no member %s; nothing to remove", group_id, user_id)

    def _patch_group(self, group_id: str, operation: dict[str, Any]) -> None:
        payload = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [operation],
        }
        patch = patch_op(Group).model_validate(payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        self._request(
            "PATCH",
            f"/Groups/{group_id}",
            body=patch.model_dump(scim_ctx=Context.RESOURCE_PATCH_REQUEST),
        )

    # --- transport -----------------------------------------------------------------------

    def _count_writes(self, count: int) -> None:
        with self._writes_lock:
            self.writes += count
        self._thread_counts.writes = self.thread_writes + count

    def _search(
        self,
        endpoint: str,
        model: type[ResourceT],
        scim_filter: str | None,
        *,
        attributes: str | None = None,
        limit: int | None = None,
    ) -> Iterator[ResourceT]:
        """Walk every page with startIndex/count (RFC 7644 §3.4.2.4)."""
        start = 1
        seen = 0
        page_size = self._page_size if limit is None else min(limit, self._page_size)
        while True:
            params: dict[str, str | int] = {"startIndex": start, "count": page_size}
            if scim_filter is not None:
                params["filter"] = scim_filter
            if attributes is not None:
                params["attributes"] = attributes
            response = self._request("GET", endpoint, params=params)
            page = _parse(list_response(model), response, Context.SEARCH_RESPONSE)
            resources: list[ResourceT] = list(page.resources or [])
            for resource in resources:
                yield resource
                seen += 1
                if limit is not None and seen >= limit:
                    return
            start += len(resources)
            if not resources or start > (page.total_results or 0):
                return

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str | int] | None = None,
        body: dict[str, Any] | None = None,
        writes: int = 1,
    ) -> httpx.Response:
        """Send with retries, count and log writes, and turn failures into LMS errors.

        ``writes`` is how many changes a successful write request makes (a ``/Bulk`` counts
        its operations itself, once it has read which succeeded)."""
        label = f"{method} {path}"
        headers = {"Accept": SCIM_JSON}
        content: bytes | None = None
        if body is not None:
            headers["Content-Type"] = SCIM_JSON
            content = json.dumps(body).encode()

        def attempt() -> httpx.Response:
            response = self._http.request(
                method,
                self.base_url + path,
                params=params,
                content=content,
                headers=headers,
                auth=self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT,
                timeout=self._timeout,
            )
            if method in WRITE_METHODS:
                log.info(
                    "LMS write %s %s -> %s",
                    method,
                    path,
                    response.status_code,
                    extra={
                        "lms_method": method,
                        "lms_path": path,
                        "lms_status": response.status_code,
                    },
                )
            else:
                log.debug("LMS read %s %s -> %s", method, path, response.status_code)
            if response.status_code in RETRYABLE_STATUSES:
                raise RetryableStatusError(response)
            return response

        response = self._policy.call(attempt, label)
        status = response.status_code
        if 200 <= status < 300:
            if method in WRITE_METHODS:
                self._count_writes(writes)
            return response
        raise _error_for(label, response)


def _error_for(label: str, response: httpx.Response) -> LMSError:
    scim_type, detail = _scim_error(response)
    return error_for_status(label, response.status_code, scim_type, detail)


def _scim_error(response: httpx.Response) -> tuple[str | None, str | None]:
    try:
        error = Error.model_validate(response.json())
    except (ValueError, ValidationError):
        text = response.text.strip()
        return None, text[:200] or None
    return error.scim_type, error.detail


ModelT = TypeVar("ModelT", bound=ScimBaseModel)


def _parse(model: type[ModelT], response: httpx.Response, ctx: Context) -> ModelT:
    """Validate an LMS answer; the error names only locations and types, since values in it
    may be personal data."""
    try:
        return model.model_validate(response.json(), scim_ctx=ctx)
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            problems = ", ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['type']}" for e in exc.errors()
            )
        else:
            problems = "not JSON"
        raise LMSError(
            f"LMS answered {response.request.method} {response.request.url.path} with a "
            f"payload that is not valid SCIM ({problems})"
        ) from None
