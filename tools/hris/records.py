"""Full employee records for sources whose webhooks only say *who* changed (BambooHR)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from core.employee import Employee
from core.settings import Settings
from tools.hris.bamboohr import BambooHRClient
from tools.hris.errors import HRISFetchError


class EmployeeFetcher(Protocol):
    def fetch(self, *, source: str, external_id: str) -> Employee: ...


class HRISRecords:
    """Routes a fetch to the API client of the event's source."""

    def __init__(self, clients: Mapping[str, Callable[[str], Employee]]) -> None:
        self._clients = dict(clients)

    def fetch(self, *, source: str, external_id: str) -> Employee:
        client = self._clients.get(source)
        if client is None:
            raise HRISFetchError(
                f"{source} sent a thin event for {external_id} but no {source} API client is "
                "configured (set its base URL and API key)",
                transient=False,
            )
        return client(external_id)


def records_from_settings(settings: Settings) -> HRISRecords:
    clients: dict[str, Callable[[str], Employee]] = {}
    if settings.bamboohr_api_key is not None:
        bamboo = BambooHRClient(
            settings.bamboohr_base_url, settings.bamboohr_api_key.get_secret_value()
        )
        clients["bamboohr"] = bamboo.fetch_employee
    return HRISRecords(clients)
