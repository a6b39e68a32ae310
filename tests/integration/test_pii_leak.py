"""Zero known personal values leave a record: 2,000 synthetic HR records with names, emails,
ids and phone numbers planted inside their free-text fields (all-caps, diacritics, the
manager's name too) go through the PII guard the provisioning graph uses; everything it
lets out is scanned with an independent check. A broken scrubber makes the check fail."""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from faker import Faker

from core.catalog import load_catalog
from core.employee import Employee
from tests.factories import make_employee
from tools.pii.guard import GuardedView, PIIGuard, get_guard
from tools.pii.scrubber import ScrubResult

LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "pl_PL", "en_IN", "sv_SE", "cs_CZ"]


@dataclass(frozen=True)
class Case:
    employee: Employee
    manager: Employee
    phones: tuple[str, ...]


def _fold(text: str) -> str:
    """Independent of the product's own normalisation, on purpose."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _person(fake: Faker, rng: random.Random, n: int) -> Employee:
    given, family = fake.first_name(), fake.last_name()
    local = re.sub(r"[^a-z]+", ".", _fold(f"{given}.{family}")).strip(".")
    return make_employee(
        external_id=f"E{rng.randint(100000, 999999)}{n}",
        given_name=given,
        family_name=family,
        email=f"{local}{n}@acme-corp.example",
    )


def _cases(count: int, seed: int = 20261123) -> Iterator[Case]:
    rng = random.Random(seed)
    fakers = {locale: Faker(locale) for locale in LOCALES}
    for faker in fakers.values():
        faker.seed_instance(seed)
    titles = [label for g in load_catalog().groups if g.kind == "role" for label in g.alt_labels]
    plants: list[Callable[[Employee, Employee, str], str]] = [
        lambda e, m, p: f"Assistant to {m.given_name} {m.family_name}",
        lambda e, m, p: f"{e.given_name.upper()} {e.family_name.upper()}",
        lambda e, m, p: f"contact {e.email}",
        lambda e, m, p: f"cell {p}",
        lambda e, m, p: f"badge #{e.external_id}",
        lambda e, m, p: f"for {e.given_name}",
        lambda e, m, p: f"({m.family_name}'s team)",
        lambda e, m, p: f"ask {str(e.email).split('@')[0]}",
    ]
    formats = ["+44 20 7946 {0:04d}", "(555) 867-{0:04d}", "+49 30 1234{0:04d}", "07700 90{0:04d}"]
    for n in range(count):
        fake = fakers[rng.choice(LOCALES)]
        manager = _person(fake, rng, 10 * n + 1)
        person = _person(fake, rng, 10 * n + 2)
        phone = rng.choice(formats).format(rng.randint(0, 9999))
        fields = {"title": rng.choice(titles), "location": "Berlin", "department": "Sales"}
        for _ in range(rng.randint(1, 3)):
            target = rng.choice(list(fields))
            fields[target] = f"{fields[target]} {rng.choice(plants)(person, manager, phone)}"
        employee = person.model_copy(update={**fields, "manager_external_id": manager.external_id})
        yield Case(employee, manager, (phone,))


def _known_values(case: Case) -> set[str]:
    e, m = case.employee, case.manager
    values = {
        e.given_name,
        e.family_name,
        str(e.email),
        str(e.email).split("@")[0],
        e.external_id,
        m.given_name,
        m.family_name,
        m.external_id,
    }
    return {_fold(v) for v in values if len(v) >= 2}


def _leaks(case: Case, view: GuardedView) -> list[str]:
    """Every known value (by kind, not by value) found in what the guard let out."""
    if view.fields is None:
        return []
    out = _fold(" ".join(view.fields.values()))
    found = [
        "known value"
        for value in _known_values(case)
        if re.search(rf"(?<!\w){re.escape(value)}(?!\w)", out)
    ]
    digits = re.sub(r"\D", "", out)
    found += ["phone" for p in case.phones if re.sub(r"\D", "", p)[-7:] in digits]
    return found


def check_no_leaks(guard: PIIGuard, cases: list[Case], *, max_refused: float) -> None:
    leaked, refused = 0, 0
    for case in cases:
        manager = case.manager
        view = guard.view_for_model(
            case.employee, manager_names=[manager.given_name, manager.family_name]
        )
        leaked += bool(_leaks(case, view))
        refused += view.fields is None
    assert leaked == 0, f"{leaked} of {len(cases)} records leaked personal data"
    # The firewall is a backstop: if it has to refuse often, the scrubber is not working.
    assert refused <= max_refused * len(cases), f"{refused} of {len(cases)} refused"


@pytest.fixture(scope="module")
def guard() -> PIIGuard:
    return get_guard()


@pytest.mark.slow
def test_two_thousand_records_leak_nothing(guard: PIIGuard) -> None:
    cases = list(_cases(2000))
    check_no_leaks(guard, cases, max_refused=0.01)


def test_the_leak_check_fails_when_the_scrubber_is_broken(
    guard: PIIGuard, monkeypatch: pytest.MonkeyPatch
) -> None:
    def pass_through(texts: list[str], **_: object) -> list[ScrubResult]:
        return [ScrubResult(text, []) for text in texts]

    monkeypatch.setattr(guard.scrubber, "scrub_many", pass_through)
    with pytest.raises(AssertionError, match="refused"):
        check_no_leaks(guard, list(_cases(200)), max_refused=0.01)


def test_the_leak_check_fails_when_scrubber_and_firewall_are_broken(
    guard: PIIGuard, monkeypatch: pytest.MonkeyPatch
) -> None:
    def pass_through(texts: list[str], **_: object) -> list[ScrubResult]:
        return [ScrubResult(text, []) for text in texts]

    monkeypatch.setattr(guard.scrubber, "scrub_many", pass_through)
    monkeypatch.setattr(guard.firewall, "check", lambda *a, **k: None)
    with pytest.raises(AssertionError, match="leaked"):
        check_no_leaks(guard, list(_cases(200)), max_refused=1.0)
