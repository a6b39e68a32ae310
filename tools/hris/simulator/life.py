"""HR life over the simulated weeks: hires and no-shows, retitles, role changes, transfers,
manager changes, relocations, new team leads, leavers and rehires, each an HRIS event."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from datetime import datetime, time, timedelta

from core.employee import EmploymentStatus, EventType, HRISEvent, WorkerType
from tools.hris.simulator.delivery import MIN_TERMINATED_BEFORE_CREATED
from tools.hris.simulator.workforce import Action, Kind, Workforce

_TERMINATION_SHARE = 0.08
_REHIRE_SHARE = 0.3  # of leavers (not no-shows) rehired later
# SOC major groups of licensed occupations (legal, healthcare): nobody transfers in or out.
_LICENSED_SOC_GROUPS = ("23-", "29-", "31-")


class Simulation(Workforce):
    """Runs the company forward in time."""

    # the run

    def run(self, headcount: int) -> list[HRISEvent]:
        self._build_roster(headcount)
        horizon = (self.start + timedelta(days=1), self.end - timedelta(days=1))
        for _ in self._pending_hires:
            self._schedule(self._random_time(horizon[0], self.end - timedelta(weeks=3)), Kind.hire)
        per_kind = {
            Kind.retitle: 0.12,
            Kind.role_change: 0.03,
            Kind.transfer: 0.04,
            Kind.manager_change: 0.06,
            Kind.relocation: 0.02,
            Kind.team_lead: 0.01,
        }
        for kind, share in per_kind.items():
            for _ in range(max(2, round(share * headcount))):
                self._schedule(self._random_time(*horizon), kind)
        leavers = round(_TERMINATION_SHARE * headcount)
        no_shows = min(len(self._pending_hires), max(MIN_TERMINATED_BEFORE_CREATED, leavers // 6))
        self._no_shows_left = no_shows
        for _ in range(max(0, leavers - no_shows)):
            self._schedule(self._random_time(*horizon), Kind.terminate)

        handlers: dict[Kind, Callable[[Action], None]] = {
            Kind.hire: self._hire,
            Kind.start: self._start,
            Kind.retitle: self._retitle,
            Kind.role_change: self._role_change,
            Kind.transfer: self._transfer,
            Kind.manager_change: self._manager_change,
            Kind.relocation: self._relocate,
            Kind.team_lead: self._team_lead,
            Kind.terminate: self._terminate,
            Kind.no_show: self._no_show,
            Kind.rehire: self._rehire,
        }
        while self._queue:
            action = heapq.heappop(self._queue)
            if action.at < self.end:
                handlers[action.kind](action)
        return self.events

    # actions

    def _hire(self, action: Action) -> None:
        role, manager_id, site = self._pending_hires.pop(0)
        manager = self.people.get(manager_id or "")
        if manager is None or manager.status is not EmploymentStatus.active:
            managers = self._managers_in(role.department)
            manager_id = managers[0].external_id if managers else manager_id
        start_day = action.at.date() + timedelta(days=self.rng.randrange(7, 29))
        person = self._new_person(role, manager_id, site, start_day, EmploymentStatus.pending)
        self._emit(EventType.created, person, action.at)
        if self._no_shows_left > 0:
            self._no_shows_left -= 1
            withdraw = action.at + timedelta(days=self.rng.randrange(1, 6), hours=3)
            self._schedule(withdraw, Kind.no_show, person.external_id)
        else:
            first_day = datetime.combine(start_day, time(8, 0), tzinfo=action.at.tzinfo)
            self._schedule(first_day, Kind.start, person.external_id)

    def _start(self, action: Action) -> None:
        person = self.people[action.external_id or ""]
        if person.status is EmploymentStatus.pending:
            self._emit(
                EventType.updated,
                person,
                action.at,
                {"employment_status": EmploymentStatus.active},
            )

    def _no_show(self, action: Action) -> None:
        """Offer withdrawn before the first day: terminated straight after being created."""
        person = self.people[action.external_id or ""]
        self._emit(
            EventType.terminated,
            person,
            action.at,
            {"employment_status": EmploymentStatus.inactive, "termination_date": action.at.date()},
        )

    def _retitle(self, action: Action) -> None:
        person = self._pick_contributor()
        if person is None:
            return
        current = person.employee.title or person.role.titles[0]
        others = [t for t in person.role.titles if t != current]
        if self.rng.random() < 0.5 and not current.startswith(("Senior ", "Lead ")):
            title = f"Senior {current}"  # promotion within the same occupation
        elif current.startswith("Senior "):
            title = f"Lead {current.removeprefix('Senior ')}"
        elif others:
            title = self.rng.choice(others)
        else:
            return
        self._emit(EventType.updated, person, action.at, {"title": title})

    def _role_change(self, action: Action) -> None:
        person = self._pick_contributor()
        if person is None:
            return
        roles = [
            r
            for r in self.company.contributor_roles(person.employee.department)
            if r.job_code != person.role.job_code
        ]
        if not roles:
            return
        person.role = self.rng.choice(roles)
        self._emit(
            EventType.updated,
            person,
            action.at,
            {"job_code": person.role.job_code, "title": self.rng.choice(person.role.titles)},
        )

    def _transfer(self, action: Action) -> None:
        person = self._pick_contributor()
        if person is None or person.role.job_code.startswith(_LICENSED_SOC_GROUPS):
            return
        roles_by_department = {
            d: [
                r
                for r in self.company.contributor_roles(d)
                if not r.job_code.startswith(_LICENSED_SOC_GROUPS)
            ]
            for d in self.company.departments
            if d != person.employee.department and self._managers_in(d)
        }
        targets = [d for d, roles in roles_by_department.items() if roles]
        if not targets:
            return
        department = self.rng.choice(targets)
        person.role = self.rng.choice(roles_by_department[department])
        manager = self.rng.choice(self._managers_in(department))
        self._emit(
            EventType.updated,
            person,
            action.at,
            {
                "department": department,
                "job_code": person.role.job_code,
                "title": self.rng.choice(person.role.titles),
                "manager_external_id": manager.external_id,
            },
        )

    def _manager_change(self, action: Action) -> None:
        person = self._pick_contributor()
        if person is None:
            return
        managers = [
            m
            for m in self._managers_in(person.employee.department, exclude=person.external_id)
            if m.external_id != person.employee.manager_external_id
        ]
        if managers:
            new = self.rng.choice(managers)
            self._emit(
                EventType.updated, person, action.at, {"manager_external_id": new.external_id}
            )

    def _relocate(self, action: Action) -> None:
        pool = self._active(lambda p: not (p.is_root or p.is_head))
        if not pool:
            return
        person = self.rng.choice(pool)
        sites = [s for s in self.company.sites if s.name != person.employee.location]
        if sites:
            site = self.rng.choice(sites)
            self._emit(
                EventType.updated,
                person,
                action.at,
                {"location": site.name, "country": site.country},
            )

    def _team_lead(self, action: Action) -> None:
        """An individual contributor is promoted to lead part of their manager's team."""
        teams = [
            m for m in self._active(lambda p: p.role.leads_people) if len(self._reports(m)) >= 6
        ]
        if not teams:
            return
        manager = self.rng.choice(teams)
        members = [p for p in self._reports(manager) if not p.role.leads_people]
        candidates = [p for p in members if p.employee.worker_type is WorkerType.employee]
        if len(members) < 3 or not candidates:
            return
        lead = self.rng.choice(candidates)
        lead.role = self.rng.choice(self.company.leader_roles(lead.employee.department))
        self._emit(
            EventType.updated,
            lead,
            action.at,
            {"job_code": lead.role.job_code, "title": self._title(lead.role, executive=False)},
        )
        peers = [p for p in members if p is not lead]
        for peer in self.rng.sample(peers, k=min(len(peers), self.rng.randint(2, 4))):
            self._emit(
                EventType.updated,
                peer,
                action.at + timedelta(minutes=5),
                {"manager_external_id": lead.external_id},
            )

    def _terminate(self, action: Action) -> None:
        # People with reports leave only after a reorg moves their team, which we don't model.
        # who manages someone, found in one pass: asking each candidate for their reports
        # made a stream of 2,000 events take a minute (quadratic in the workforce)
        managing = {p.employee.manager_external_id for p in self._active()}
        pool = self._active(
            lambda p: not (p.is_root or p.is_head) and p.external_id not in managing
        )
        if not pool:
            return
        person = self.rng.choice(pool)
        self._emit(
            EventType.terminated,
            person,
            action.at,
            {"employment_status": EmploymentStatus.inactive, "termination_date": action.at.date()},
        )
        if self.rng.random() < _REHIRE_SHARE:
            back = action.at + timedelta(
                weeks=self.rng.randint(3, 10), minutes=self.rng.randrange(3 * 24 * 60)
            )
            self._schedule(back, Kind.rehire, person.external_id)

    def _rehire(self, action: Action) -> None:
        person = self.people[action.external_id or ""]
        if person.status is not EmploymentStatus.inactive:
            return
        managers = self._managers_in(person.employee.department, exclude=person.external_id)
        manager_id = person.employee.manager_external_id
        if manager_id not in {m.external_id for m in managers} and managers:
            manager_id = self.rng.choice(managers).external_id
        self._emit(
            EventType.rehired,
            person,
            action.at,
            {
                "employment_status": EmploymentStatus.active,
                "hire_date": action.at.date(),
                "termination_date": None,
                "manager_external_id": manager_id,
            },
        )
