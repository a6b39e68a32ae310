"""The simulated workforce: its people, the initial org tree built top-down, and the event
log every change goes through (``Simulation`` in ``life`` runs it forward in time)."""

from __future__ import annotations

import heapq
import itertools
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from core.employee import Employee, EmploymentStatus, EventType, HRISEvent, WorkerType
from tools.hris.simulator.company import Company, Role, Site
from tools.hris.simulator.names import NameSource

SOURCE = "standard"
_NEW_HIRE_SHARE = 0.2  # hired during the simulated weeks rather than on the initial roster
_TEAM_SIZE = 9
_EXECUTIVE_TITLE = re.compile(r"\b(Chief|Director|VP|Vice President|Officer)\b")


@dataclass
class Person:
    employee: Employee
    role: Role
    is_root: bool = False
    is_head: bool = False

    @property
    def external_id(self) -> str:
        return self.employee.external_id

    @property
    def status(self) -> EmploymentStatus:
        return self.employee.employment_status


class Kind(Enum):
    hire = "hire"
    start = "start"
    retitle = "retitle"
    role_change = "role_change"
    transfer = "transfer"
    manager_change = "manager_change"
    relocation = "relocation"
    team_lead = "team_lead"
    terminate = "terminate"
    no_show = "no_show"
    rehire = "rehire"


@dataclass(order=True)
class Action:
    at: datetime
    seq: int
    kind: Kind = field(compare=False)
    external_id: str | None = field(default=None, compare=False)


class Workforce:
    """The company's people and the event log every change to them goes through; every event
    carries a full, validated snapshot. ``Simulation`` runs it forward in time."""

    def __init__(
        self,
        company: Company,
        rng: random.Random,
        start: datetime,
        weeks: int,
        names: NameSource,
    ) -> None:
        self.company = company
        self.rng = rng
        self.start = start
        self.end = start + timedelta(weeks=weeks)
        self.names = names
        self.people: dict[str, Person] = {}
        self.events: list[HRISEvent] = []
        self._last_at = start - timedelta(seconds=1)
        self._queue: list[Action] = []
        self._seq = itertools.count()
        self._ids = itertools.count(100001)
        self._pending_hires: list[tuple[Role, str | None, Site]] = []
        self._no_shows_left = 0

    # clock and events

    def _tick(self, at: datetime) -> datetime:
        """Strictly increasing time, so each worker's events have distinct, ordered instants."""
        self._last_at = max(at, self._last_at + timedelta(seconds=1))
        return self._last_at

    def _emit(
        self,
        kind: EventType,
        person: Person,
        at: datetime,
        changes: dict[str, Any] | None = None,
    ) -> None:
        occurred = self._tick(at)
        before = person.employee.model_dump()
        after = {**before, **(changes or {})}
        person.employee = Employee.model_validate(after)
        changed = [] if kind is EventType.created else [k for k in after if after[k] != before[k]]
        self.events.append(
            HRISEvent(
                event_id=f"msg_{uuid.UUID(int=self.rng.getrandbits(128), version=4).hex}",
                source=SOURCE,
                type=kind,
                occurred_at=occurred,
                employee_external_id=person.external_id,
                employee=person.employee,
                changed_fields=changed,
            )
        )

    def _schedule(self, at: datetime, kind: Kind, external_id: str | None = None) -> None:
        heapq.heappush(self._queue, Action(at, next(self._seq), kind, external_id))

    def _random_time(self, earliest: datetime, latest: datetime) -> datetime:
        span = max(1, int((latest - earliest).total_seconds()))
        return earliest + timedelta(seconds=self.rng.randrange(span))

    # the initial roster: an org tree built top-down so managers exist before their reports

    def _build_roster(self, headcount: int) -> None:
        departments = self.company.departments
        weights = [len(self.company.contributor_roles(d)) for d in departments]
        sizes = dict.fromkeys(departments, 0)
        for d in self.rng.choices(departments, weights=weights, k=headcount - 1):
            sizes[d] += 1

        root_role = min(
            (r for d in departments for r in self.company.leader_roles(d)),
            key=lambda r: r.job_code,  # O*NET lists top executives (11-1xxx) first
        )
        root = self._roster_hire(
            root_role, None, self.rng.choice(self.company.sites), years=(6, 12), executive=True
        )
        root.is_root = True
        for department in departments:
            size = sizes[department]
            if size == 0:
                continue
            if root_role.department == department:
                head = root
            else:
                head = self._roster_hire(
                    self.rng.choice(self.company.leader_roles(department)),
                    root.external_id,
                    self.rng.choice(self.company.sites),
                    years=(3, 10),
                    executive=True,
                )
                head.is_head = True
                size -= 1
            teams = [head]
            if size > _TEAM_SIZE:
                for _ in range(round(size / _TEAM_SIZE)):
                    teams.append(
                        self._roster_hire(
                            self.rng.choice(self.company.leader_roles(department)),
                            head.external_id,
                            self._near(head),
                            years=(1, 8),
                            executive=False,
                        )
                    )
                size -= len(teams) - 1
            managers = teams[1:] or teams
            contributors = [
                (
                    self.rng.choice(self.company.contributor_roles(department)),
                    self.rng.choice(managers),
                )
                for _ in range(size)
            ]
            for role, manager in contributors:
                if self.rng.random() < _NEW_HIRE_SHARE:
                    self._pending_hires.append((role, manager.external_id, self._near(manager)))
                else:
                    self._roster_hire(role, manager.external_id, self._near(manager), years=(0, 8))

    def _near(self, manager: Person) -> Site:
        """Most people sit where their manager sits."""
        if self.rng.random() < 0.7:
            return self._site_named(manager.employee.location)
        return self.rng.choice(self.company.sites)

    def _site_named(self, name: str | None) -> Site:
        return next((s for s in self.company.sites if s.name == name), self.company.sites[0])

    def _new_person(
        self,
        role: Role,
        manager_id: str | None,
        site: Site,
        hire_date: date,
        status: EmploymentStatus,
        executive: bool | None = None,
    ) -> Person:
        given, family, email = self.names.person(self.rng, site.country)
        worker_type = WorkerType.employee
        if not role.leads_people:
            worker_type = self.rng.choices(list(WorkerType), weights=[0.9, 0.06, 0.02, 0.02])[0]
        employee = Employee(
            external_id=f"W{next(self._ids)}",
            email=email,
            given_name=given,
            family_name=family,
            title=self._title(role, executive),
            job_code=role.job_code,
            department=role.department,
            location=site.name,
            country=site.country,
            manager_external_id=manager_id,
            employment_status=status,
            worker_type=worker_type,
            hire_date=hire_date,
        )
        person = Person(employee, role)
        self.people[person.external_id] = person
        return person

    def _title(self, role: Role, executive: bool | None) -> str:
        """Heads of department get director-level titles, team managers manager-level ones."""
        titles = [
            t
            for t in role.titles
            if executive is None or bool(_EXECUTIVE_TITLE.search(t)) is executive
        ]
        return self.rng.choice(titles or list(role.titles))

    def _roster_hire(
        self,
        role: Role,
        manager_id: str | None,
        site: Site,
        *,
        years: tuple[int, int],
        executive: bool | None = None,
    ) -> Person:
        days = self.rng.randrange(max(1, years[0] * 365), years[1] * 365 + 14)
        hire_date = self.start.date() - timedelta(days=days)
        person = self._new_person(
            role, manager_id, site, hire_date, EmploymentStatus.active, executive
        )
        self._emit(EventType.created, person, self.start + timedelta(seconds=30))
        return person

    # choosing people

    def _active(self, predicate: Callable[[Person], bool] = lambda p: True) -> list[Person]:
        return [
            p for p in self.people.values() if p.status is EmploymentStatus.active and predicate(p)
        ]

    def _reports(self, person: Person) -> list[Person]:
        return self._active(lambda p: p.employee.manager_external_id == person.external_id)

    def _managers_in(self, department: str | None, exclude: str | None = None) -> list[Person]:
        return self._active(
            lambda p: (
                p.role.leads_people
                and p.employee.department == department
                and p.external_id != exclude
            )
        )

    def _pick_contributor(self) -> Person | None:
        pool = self._active(lambda p: not p.role.leads_people)
        return self.rng.choice(pool) if pool else None
