"""Zero known personal values leave a record: 2,000 synthetic HR records with names, emails,
ids and phone numbers planted inside their free-text fields (all-caps, diacritics, the
manager's name too) go through the provisioning graph's scrub and mapping nodes, with the
LLM title agent on a recording chat model. Every prompt it was sent, every Chroma document
and metadata written, and the decision text recorded for audit are scanned with an
independent check. A broken scrubber (and firewall) makes the check fail."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import unicodedata
from collections.abc import Callable, Iterator
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
from sqlalchemy.engine import Engine
from sqlmodel import Session

from agents import provisioning_steps as steps
from agents.policy.rules import load_policy
from agents.state import ProvisioningContext
from core import inbox
from core.catalog import load_catalog
from core.db import create_tables, make_engine
from core.employee import Employee
from core.inbox import Claim, EmployeeCursor
from core.settings import Settings
from core.vault import VaultKeys
from prompts.loader import load_prompt
from tests.doubles.scripted_chat import ScriptedChatModel, choice
from tests.factories import NO_REVIEW_POLICY, make_employee, make_event, write_skill_taxonomy
from tools.mapping.embedded import EmbeddedTitleMapper
from tools.mapping.llm import LLMTitleMapper
from tools.mapping.role_directory import RoleDirectory
from tools.mapping.rules import RulesMapper
from tools.mapping.skill_mapping import build_skill_mapping
from tools.mapping.title_mapping import TitleMapping
from tools.pii.guard import PIIGuard, get_guard
from tools.pii.scrubber import ScrubResult
from tools.titles.ranker import TitleRanker
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
    skills = build_skill_mapping(Settings(var_dir=tmp_path, skills_taxonomy_path=taxonomy))

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
            engine=engine,
            catalog=catalog,
            lms=None,  # type: ignore[arg-type]  # these nodes never write to the LMS
            lms_groups=None,  # type: ignore[arg-type]
            mapper=RulesMapper(catalog),
            titles=titles,
            reasoning=titles.reasoning,  # type: ignore[arg-type]
            policy=load_policy(NO_REVIEW_POLICY),
            pii=guard,
            vault_keys=keys,
            hris=None,  # type: ignore[arg-type]  # events carry the full record
            claim=Claim(receipt_id=f"r{n}", worker_id="leak-test", attempts=1, event=event),
            skills=skills,
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
