"""Zero known personal values leave a record: 2,000 synthetic HR records with names, emails,
ids and phone numbers planted inside their free-text fields (all-caps, diacritics, the
manager's name too) go through the provisioning graph's scrub and mapping nodes, with the
LLM title agent on a recording chat model. Every prompt it was sent, every Chroma document
and metadata written, and the decision text recorded for audit are scanned with an
independent check. A broken scrubber (and firewall) makes the check fail.

And end to end through the worker: profile skills and titles holding phone numbers in
international and national formats, passport and national-id numbers and free-form contact
instructions leave no raw value in the audit table, the inbox outcomes, any Chroma
collection or the logs, before and after ``erase``: the audit is append-only and erasure
cannot take anything back out of it."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import chromadb
import pytest
from chromadb.api import ClientAPI
from faker import Faker
from langchain_core.messages import AIMessage, BaseMessage
from langgraph.runtime import Runtime
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from agents.policy.rules import load_policy
from agents.provisioning import nodes as steps
from agents.provisioning.state import ProvisioningContext
from agents.runtime.erasure import erase_employee
from agents.runtime.workers import open_workers
from agents.services import Services
from agents.title_agent.runner import LLMTitleMapper
from core import inbox
from core.catalog import load_catalog
from core.db import make_engine
from core.employee import Employee
from core.inbox import Claim, EmployeeCursor
from core.schema import create_tables
from core.settings import Settings
from core.vault import VaultKeys
from evals.scripted_chat_models import ScriptedChatModel, choice
from pii.guard import PIIGuard, get_guard
from pii.scrubber import ScrubResult
from prompts.loader import load_prompt
from tests.factories import (
    NO_REVIEW_POLICY,
    make_employee,
    make_event,
    make_worker_settings,
    write_skill_taxonomy,
)
from tools.lms.sandbox import SandboxServer
from tools.mapping.embedded import EmbeddedTitleMapper
from tools.mapping.role_directory import RoleDirectory
from tools.mapping.rules import RulesMapper
from tools.mapping.skill_mapping import build_skill_mapping
from tools.mapping.title_mapping import TitleMapping
from tools.titles.ranker import TitleRanker
from vectorstore.client import chroma_client
from vectorstore.embeddings import default_embedder
from vectorstore.memory import ApprovedMemory
from vectorstore.reasoning import ReasoningLog

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
    skill_rng = random.Random(seed + 1)  # its own stream: the other fields stay as they were
    for n in range(count):
        fake = fakers[rng.choice(LOCALES)]
        manager = _person(fake, rng, 10 * n + 1)
        person = _person(fake, rng, 10 * n + 2)
        phone = rng.choice(formats).format(rng.randint(0, 9999))
        fields = {"title": rng.choice(titles), "location": "Berlin", "department": "Sales"}
        for _ in range(rng.randint(1, 3)):
            target = rng.choice(list(fields))
            fields[target] = f"{fields[target]} {rng.choice(plants)(person, manager, phone)}"
        skills = skill_rng.sample(SKILLS, 2)
        if skill_rng.random() < 0.5:  # profile skills are typed by people too
            skills[0] = f"{skills[0]} {skill_rng.choice(plants)(person, manager, phone)}"
        # no job code: the rules leave the role open, so every record goes to the model
        employee = person.model_copy(
            update={
                **fields,
                "skills": skills,
                "manager_external_id": manager.external_id,
                "job_code": None,
            }
        )
        yield Case(employee, manager, (phone,))


SKILLS = ["Python", "ms excel", "people mgmt", "team work", "budgeting", "SQL", "coaching"]


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


def _catalog_vocabulary() -> list[str]:
    """The catalog's own words: a person named Cook is not leaked by the role "Line Cook"."""
    catalog = load_catalog()
    terms = {*catalog.by_id, *catalog.rules.departments, *catalog.rules.locations}
    for group in catalog.groups:
        terms.update([group.display_name, group.display_name.split(": ")[-1], *group.alt_labels])
    return sorted({_fold(t) for t in terms}, key=len, reverse=True)


CATALOG_WORDS = _catalog_vocabulary()


def _leaks(case: Case, text: str) -> list[str]:
    """Every known value (by kind, not by value) found in text that left the guard."""
    out = _fold(text)
    for term in CATALOG_WORDS:
        if term in out:
            out = re.sub(rf"(?<!\w){re.escape(term)}(?!\w)", " ", out)
    found = [
        "known value"
        for value in _known_values(case)
        if re.search(rf"(?<!\w){re.escape(value)}(?!\w)", out)
    ]
    digits = re.sub(r"\D", "", out)
    found += ["phone" for p in case.phones if re.sub(r"\D", "", p)[-7:] in digits]
    return found


def _first_candidate(prompt: list[BaseMessage], tools: list[str]) -> AIMessage:
    """A model that looks once, then picks the first shortlisted role and quotes the title
    back in its rationale: echoing input is what a careless model does."""
    if "RoleChoice" not in tools:
        return AIMessage(content="")
    shown = re.findall(r"^(role-[\w-]+) \|", prompt[1].text, flags=re.MULTILINE)
    title = re.search(r"^Job title: (.*)$", prompt[1].text, flags=re.MULTILINE)
    echo = title.group(1) if title else ""
    return choice(shown[0] if shown else None, 0.9, f"'{echo}' reads as this role")


@dataclass
class Pipeline:
    """The provisioning graph's own nodes (scrub, map_roles, map_title) on a real inbox,
    with the LLM title agent on a recording chat model and Chroma in memory."""

    engine: Engine
    guard: PIIGuard
    model: ScriptedChatModel
    client: ClientAPI
    context_for: Callable[[Case, int], ProvisioningContext]

    def run(self, case: Case, n: int) -> tuple[dict[str, Any], list[str]]:
        """The final state and every text that left: prompts, Chroma entries, audit text."""
        runtime = Runtime(context=self.context_for(case, n))
        state: dict[str, Any] = {"employee": case.employee.model_dump(mode="json")}
        sent_before = len(self.model.prompts)
        for node in (steps.scrub, steps.map_roles):
            state.update(node(state, runtime))  # type: ignore[arg-type]
        if steps.after_mapping(state, runtime) == "map_title":  # type: ignore[arg-type]
            state.update(steps.map_title(state, runtime))  # type: ignore[arg-type]
        state.update(steps.infer_skills(state, runtime))  # type: ignore[arg-type]
        prompts = [m.text for p in self.model.prompts[sent_before:] for m in p]
        entry = self.client.get_collection("reasoning").get(ids=[f"r{n}:title"])
        vector = [*(entry["documents"] or []), json.dumps(entry["metadatas"])]
        audit = [json.dumps({k: state.get(k) for k in ("decision", "pii", "skills")})]
        return state, prompts + vector + audit


def make_pipeline(tmp_path: Path, guard: PIIGuard) -> Pipeline:
    engine = make_engine(f"sqlite:///{tmp_path / 'leak.db'}")
    create_tables(engine)
    catalog = load_catalog()
    directory = RoleDirectory(catalog)
    embedder = default_embedder()
    client = chromadb.EphemeralClient()
    for name in ("reasoning", "memory"):
        with contextlib.suppress(Exception):
            client.delete_collection(name)
    model = ScriptedChatModel(default=_first_candidate)
    memory = ApprovedMemory(client, embedder, firewall=guard.firewall)
    embedded = EmbeddedTitleMapper(directory, TitleRanker(directory.roles, embedder))
    titles = TitleMapping(
        mapper=LLMTitleMapper(
            model=model,
            directory=directory,
            embedded=embedded,
            memory=memory,
            firewall=guard.firewall,
            prompt=load_prompt("title_mapping@1"),
            max_tool_rounds=1,
        ),
        directory=directory,
        memory=memory,
        reasoning=ReasoningLog(client, embedder, firewall=guard.firewall),
    )
    keys = VaultKeys(master=os.urandom(32), pseudonym=os.urandom(32))
    taxonomy = write_skill_taxonomy(tmp_path / "taxonomy")
    settings = Settings(var_dir=tmp_path, skills_taxonomy_path=taxonomy)
    services = Services(
        settings=settings, engine=engine, catalog=catalog, vault_keys=keys, sources={}
    ).using(
        # these nodes never write to the LMS, and events carry the full record: no LMS, no HRIS
        mapper=RulesMapper(catalog),
        titles=titles,
        reasoning=titles.reasoning,
        policy=load_policy(NO_REVIEW_POLICY),
        pii=guard,
        skills=build_skill_mapping(settings),
    )

    def context_for(case: Case, n: int) -> ProvisioningContext:
        manager_row, _ = inbox.enqueue(engine, event=make_event(case.manager))
        with Session(engine) as session:
            session.merge(
                EmployeeCursor(
                    external_id=case.manager.external_id,
                    last_occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
                    last_receipt_id=manager_row.id,
                )
            )
            session.commit()
        event = make_event(case.employee)
        return ProvisioningContext(
            services=services,
            claim=Claim(receipt_id=f"r{n}", worker_id="leak-test", attempts=1, event=event),
        )

    return Pipeline(engine, guard, model, client, context_for)


def check_no_leaks(pipeline: Pipeline, cases: list[Case], *, max_refused: float) -> None:
    leaked, refused, asked = 0, 0, 0
    for n, case in enumerate(cases):
        state, egress = pipeline.run(case, n)
        leaked += any(_leaks(case, text) for text in egress)
        refused += state["model_view"] is None
        asked += bool(state["decision"].get("provenance", {}).get("title"))
    assert leaked == 0, f"{leaked} of {len(cases)} records leaked personal data"
    # The firewall is a backstop: if it has to refuse often, the scrubber is not working.
    assert refused <= max_refused * len(cases), f"{refused} of {len(cases)} refused"
    assert asked >= len(cases) - refused, "every record with a model view went to the model"


@pytest.fixture(scope="module")
def guard() -> PIIGuard:
    return get_guard()


@pytest.mark.slow
@pytest.mark.timeout(900)  # ~60-120 ms a record on two cores: scrub, two model calls, Chroma
def test_two_thousand_records_leak_nothing(guard: PIIGuard, tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path, guard)
    check_no_leaks(pipeline, list(_cases(2000)), max_refused=0.01)
    assert len(pipeline.model.prompts) >= 2 * 1980  # a look and an answer per record


def _pass_through(texts: list[str], **_: object) -> list[ScrubResult]:
    return [ScrubResult(text, []) for text in texts]


def test_the_leak_check_fails_when_the_scrubber_is_broken(
    guard: PIIGuard, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(guard.scrubber, "scrub_many", _pass_through)
    with pytest.raises(AssertionError, match="refused"):
        check_no_leaks(make_pipeline(tmp_path, guard), list(_cases(100)), max_refused=0.01)


def test_the_leak_check_fails_when_scrubber_and_firewall_are_broken(
    guard: PIIGuard, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(guard.scrubber, "scrub_many", _pass_through)
    monkeypatch.setattr(guard.firewall, "check", lambda *a, **k: None)
    with pytest.raises(AssertionError, match="leaked"):
        check_no_leaks(make_pipeline(tmp_path, guard), list(_cases(100)), max_refused=1.0)


# --- contact and id numbers typed into a profile, end to end ----------------------------

CONTACT_AND_ID_SKILLS = [
    "cell +44 7700 900123",
    "+49 30 901820 (desk)",
    "whatsapp +33 6 12 34 56 78",
    "call me on 0151 234 5678",
    "reach me at 020 7946 0958",
    "tel 0049 30 901821",
    "my mobile is 7700 900 124",
    "passport 533380006",
    "passport no. X1234567",
    "NI number QQ 12 34 56 C",
    "SSN 078-05-1120",
    "PESEL 44051401359",
    "DNI 12345678Z",
    "telegram @zephy_q",
    "reach me at zeph dot q at mailbox dot org",
]
RAW_VALUES = [  # each as its letters and digits only: formatting cannot hide a value
    "447700900123",
    "4930901820",
    "33612345678",
    "01512345678",
    "02079460958",
    "004930901821",
    "7700900124",
    "07700900456",
    "533380006",
    "x1234567",
    "qq123456c",
    "078051120",
    "44051401359",
    "12345678z",
    "zephyq",
    "zephdotq",
    "mailboxdotorg",
]


def _alnum(value: str) -> str:
    return re.sub(r"[\W_]+", "", value.casefold())


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif value is not None:
        yield str(value)


def _raw_values_in(where: str, strings: Iterable[str]) -> list[str]:
    """Each planted value found in one string (values are matched within a string, never
    across two, so the digits of neighbouring hashes cannot make a match)."""
    found = []
    for string in strings:
        flat = _alnum(string)
        found += [f"{where}: {raw}" for raw in RAW_VALUES if raw in flat]
    return found


def _stored_raw_values(engine: Engine, settings: Settings, logs: str) -> list[str]:
    found = []
    with engine.connect() as connection:
        audit_rows = connection.execute(text("SELECT * FROM audit_entry")).all()
        outcomes = connection.execute(text("SELECT outcome FROM inbox_event")).all()
    found += _raw_values_in("audit", (s for row in audit_rows for s in _strings(list(row))))
    found += _raw_values_in(
        "outcome",
        (s for (outcome,) in outcomes for s in _strings(_loaded(outcome))),
    )
    client = chroma_client(settings)
    for collection in client.list_collections():
        entries = client.get_collection(collection.name).get(include=["documents", "metadatas"])
        found += _raw_values_in(
            f"chroma {collection.name}",
            _strings([entries["ids"], entries["documents"], entries["metadatas"]]),
        )
    found += _raw_values_in("logs", logs.splitlines())
    return found


def _loaded(outcome: Any) -> Any:
    return json.loads(outcome) if isinstance(outcome, str) else outcome


def _profile(n: int, skills: list[str], title: str) -> Employee:
    return make_employee(
        external_id=f"HR-LEAK-{n}",
        given_name="Zephyrine",
        family_name=f"Quillfeather{n}",
        email=f"zephyrine.q{n}@example.com",
        job_code=None,  # the rules leave the role open: the title goes to the AI mapper
        title=title,
        skills=skills,
    )


def test_contact_and_id_numbers_in_a_profile_stay_out_of_audit_outcome_chroma_and_logs(
    database_url: str, engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    taxonomy = write_skill_taxonomy(tmp_path / "taxonomy")
    people = [
        _profile(1, ["ms excel", *CONTACT_AND_ID_SKILLS[:8]], "Registered Nurse"),
        _profile(2, [*CONTACT_AND_ID_SKILLS[8:], "team work"], "Staff Nurse"),
        _profile(3, ["Python 3"], "Software Developer - mobile 07700 900456"),
    ]
    with SandboxServer(load_catalog(), token="sandbox-token") as sandbox:
        settings = make_worker_settings(
            database_url=database_url,
            var_dir=tmp_path,
            lms_url=sandbox.base_url,
            lms_token=SecretStr("sandbox-token"),
            skills_taxonomy_path=taxonomy,
        )
        with open_workers(settings, engine, count=1) as (worker,):
            for person in people:
                inbox.enqueue(engine, event=make_event(person))
            worker.drain(timeout_s=300)
            assert inbox.status_counts(engine).get("applied") == len(people)
            with engine.connect() as connection:
                skills_recorded = connection.execute(
                    text("SELECT COUNT(*) FROM audit_entry WHERE action = 'decision_made'")
                ).scalar()
            assert skills_recorded == len(people)  # the runs were audited, skills and all

            assert _stored_raw_values(engine, settings, caplog.text) == []

            for person in people:
                erase_employee(engine=engine, settings=settings, external_id=person.external_id)
            assert _stored_raw_values(engine, settings, caplog.text) == []
