"""State and run context of the provisioning graph.

State values are plain JSON so checkpoints stay readable and portable across versions;
nodes validate them back into models at the edge. The context carries the collaborators
(LMS, mapper, HRIS), which are never checkpointed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from sqlalchemy.engine import Engine

from core.catalog import Catalog
from core.inbox import Claim
from tools.hris.records import EmployeeFetcher
from tools.lms.catalog_groups import CatalogGroups
from tools.lms.scim import ScimLMS
from tools.mapping.base import Mapper


class ProvisioningState(TypedDict, total=False):
    receipt_id: str
    event: dict[str, Any]
    employee: dict[str, Any]
    lms_user: dict[str, Any] | None
    current_groups: list[str]
    decision: dict[str, Any]
    manages_others: bool
    plan: dict[str, Any]
    applied: dict[str, Any]
    outcome: dict[str, Any]


@dataclass(frozen=True)
class ProvisioningContext:
    engine: Engine
    catalog: Catalog
    lms: ScimLMS
    lms_groups: CatalogGroups
    mapper: Mapper
    hris: EmployeeFetcher
    claim: Claim
