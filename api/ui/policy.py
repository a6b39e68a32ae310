"""What the reviewer pages take from the review policy: its rule ids (the queue's rule
filter) and which catalog groups it treats as privileged (marked on every review).

The pages read the same policy file the workers were started with. A policy that cannot be
read costs the page its suggestions and the policy's own privileged tags, never the page:
the workers refuse to start on such a file, so the queue has nothing new to show anyway.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from agents.policy.rules import (
    KNOWN_FLAGS,
    GroupAddedRule,
    GroupRemovedRule,
    PolicyError,
    ReviewPolicy,
    load_policy,
)
from core.catalog import CatalogGroup

log = logging.getLogger(__name__)

ACCESS_TAGS = frozenset({"admin", "leadership", "manager", "people-leader"})
"""Groups that grant power or standing, marked wherever they appear on a change, whatever the
policy says: a policy without group rules (the demo's) must not make a leadership programme
look like any other group on a review that a prompt injection steered."""
REMOVAL_TAGS = frozenset({"compliance"})
"""Groups that matter when they go (an obligation left untracked), marked on removals only:
a new hire's compliance curricula are routine and would drown the marks that matter."""


@lru_cache(maxsize=4)
def review_policy(path: Path | None) -> ReviewPolicy | None:
    try:
        return load_policy(path)
    except PolicyError:
        log.warning("the reviewer pages could not read the review policy", exc_info=True)
        return None


def rule_ids(path: Path | None) -> tuple[str, ...]:
    policy = review_policy(path)
    return tuple(rule.id for rule in policy.rules) if policy is not None else ()


def known_flags() -> tuple[str, ...]:
    return tuple(sorted(KNOWN_FLAGS))


@dataclass(frozen=True)
class Privilege:
    """Tags and kinds that make a catalog group privileged on a change: the built-in ones,
    and those the policy's ``group_added`` rules (marked wherever the group appears) and
    ``group_removed`` rules (marked on removals) name: the customer's own word on which
    groups people must grant or take away."""

    tags: frozenset[str] = ACCESS_TAGS
    kinds: frozenset[str] = frozenset()
    removal_tags: frozenset[str] = REMOVAL_TAGS
    removal_kinds: frozenset[str] = frozenset()

    def marks(self, group: CatalogGroup | None, *, removed: bool) -> tuple[str, ...]:
        """Why ``group`` is privileged on this line (matching tags, then its kind)."""
        if group is None:
            return ()
        tags, kinds = set(self.tags), set(self.kinds)
        if removed:
            tags |= self.removal_tags
            kinds |= self.removal_kinds
        found = [tag for tag in group.tags if tag in tags]
        if group.kind.value in kinds:
            found.append(group.kind.value)
        return tuple(dict.fromkeys(found))


def privilege_of(path: Path | None) -> Privilege:
    policy = review_policy(path)
    tags: set[str] = set(ACCESS_TAGS)
    kinds: set[str] = set()
    removal_tags: set[str] = set(REMOVAL_TAGS)
    removal_kinds: set[str] = set()
    for rule in policy.rules if policy is not None else ():
        if isinstance(rule, GroupAddedRule):
            tags.update(rule.tags)
            kinds.update(kind.value for kind in rule.kinds)
        elif isinstance(rule, GroupRemovedRule):
            removal_tags.update(rule.tags)
            removal_kinds.update(kind.value for kind in rule.kinds)
    return Privilege(
        tags=frozenset(tags),
        kinds=frozenset(kinds),
        removal_tags=frozenset(removal_tags),
        removal_kinds=frozenset(removal_kinds),
    )
