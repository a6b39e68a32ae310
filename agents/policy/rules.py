"""The review policy file: a customer-editable YAML, validated at start-up.

A typo in a policy must stop the service with a message naming the rule and the field, not
silently let a termination through; so the models forbid unknown keys and the rules are
checked against the catalog (a tag no group carries is almost certainly a typo).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.catalog import Catalog, GroupKind

DEFAULT_POLICY = Path(__file__).parent / "default_policy.yaml"
DEMO_POLICY = Path(__file__).parent / "demo_policy.yaml"
KNOWN_FLAGS = frozenset(
    {
        "prompt_injection",
        "pii_refusal",
        "invalid_choice",
        "unparseable_answer",
        "llm_error",
        "model_abstained",
        "low_confidence",
        "no_role_found",
    }
)


class PolicyError(ValueError):
    """The policy file is wrong; the message says where."""


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$")
    description: str = ""
    approvals: int = Field(1, ge=1, le=3, description="Distinct reviewers needed.")
    due_hours: float = Field(72, gt=0)
    on_overdue: Literal["escalate", "reject"] = "escalate"


class _GroupMatch(_Rule):
    tags: list[str] = Field(default_factory=list)
    kinds: list[GroupKind] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_something(self) -> _GroupMatch:
        if not self.tags and not self.kinds:
            raise ValueError("needs tags or kinds to match groups")
        return self


class DeprovisionRule(_Rule):
    when: Literal["deprovision"]


class GroupAddedRule(_GroupMatch):
    when: Literal["group_added"]


class GroupRemovedRule(_GroupMatch):
    when: Literal["group_removed"]


class ManyRemovalsRule(_Rule):
    when: Literal["many_removals"]
    more_than: int = Field(ge=0)


class PromotionRule(_Rule):
    when: Literal["promotion"]


class LowConfidenceRule(_Rule):
    when: Literal["ai_confidence_below"]
    threshold: float = Field(gt=0.0, le=1.0)


class FlaggedRule(_Rule):
    when: Literal["flagged"]
    flags: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_flags(self) -> FlaggedRule:
        unknown = sorted(set(self.flags) - KNOWN_FLAGS)
        if unknown:
            raise ValueError(f"unknown flags {unknown}; known: {sorted(KNOWN_FLAGS)}")
        return self


Rule = Annotated[
    DeprovisionRule
    | GroupAddedRule
    | GroupRemovedRule
    | ManyRemovalsRule
    | PromotionRule
    | LowConfidenceRule
    | FlaggedRule,
    Field(discriminator="when"),
]


class ReviewPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    shadow_mode: bool = False
    shadow_approvals: int = Field(1, ge=1, le=3)
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> ReviewPolicy:
        ids = [r.id for r in self.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"rule ids must be unique: {duplicates}")
        return self

    def check_against(self, catalog: Catalog) -> None:
        """Tags no catalog group carries are typos until proven otherwise."""
        known = {tag for group in catalog.groups for tag in group.tags}
        for index, rule in enumerate(self.rules):
            if isinstance(rule, _GroupMatch):
                unknown = sorted(set(rule.tags) - known)
                if unknown:
                    raise PolicyError(
                        f"rules[{index}] ({rule.id}): no catalog group has tags {unknown}; "
                        f"catalog tags: {sorted(known)}"
                    )


def load_policy(path: Path | None = None, *, catalog: Catalog | None = None) -> ReviewPolicy:
    source = path or DEFAULT_POLICY
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise PolicyError(f"{source}: cannot read the policy: {error}") from error
    try:
        policy = ReviewPolicy.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise PolicyError(f"{source}: {problems}") from error
    if catalog is not None:
        try:
            policy.check_against(catalog)
        except PolicyError as error:
            raise PolicyError(f"{source}: {error}") from error
    return policy
