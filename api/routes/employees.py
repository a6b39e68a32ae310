"""Right to erasure over HTTP: one call removes a person from everything this service keeps."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from agents.runtime.erasure import ErasureBusyError, ErasureReport, erase_employee
from api.auth import AdminDep, require_admin
from api.deps import EngineDep, SettingsDep
from api.problems import ApiError, Problem

router = APIRouter(prefix="/admin/employees", tags=["admin"], dependencies=[Depends(require_admin)])


@router.delete(
    "/{external_id}",
    response_model=ErasureReport,
    responses={409: {"model": Problem}},
)
def erase(
    external_id: str, engine: EngineDep, settings: SettingsDep, principal: AdminDep
) -> ErasureReport:
    """Erase the person with this HRIS id. Idempotent: a second call answers all zeros.

    Synchronous on purpose: the caller (a DSAR workflow) needs to know it is done. The
    LMS account is not deleted: the LMS is the customer's system (see ``out_of_scope``).
    """
    try:
        return erase_employee(
            engine=engine,
            settings=settings,
            external_id=external_id,
            requested_by=f"admin:{principal.name}",
        )
    except ErasureBusyError as busy:
        raise ApiError(409, "Employee busy", f"{busy}; erasure is safe to repeat") from busy
