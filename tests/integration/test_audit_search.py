"""Semantic audit search: among thousands of decisions, the question "why was this person
added to the leadership programme" finds the entry behind it, through the API."""

from __future__ import annotations

import random
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from core import audit
from core.audit import ActorKind, AuditAction, AuditEntryCreate
from core.db import make_engine
from core.schema import create_tables
from core.settings import Settings
from core.vault import load_keys, pseudonym
from pii.guard import get_guard
from vectorstore.reasoning import reasoning_log

ADMIN = "admin-key"
OTHER_REASONS = [
    "Added to Code of Conduct (every active worker: Code of Conduct).",
    "Added to Information Security Awareness (every active worker).",
    "Added to Engineering (department Engineering: Engineering).",
    "Added to Role: Registered Nurses (job code 29-1141.00: Role: Registered Nurses).",
    "Added to Bloodborne Pathogens (job code 29-1141.00: Bloodborne Pathogens).",
    "Added to Berlin (location Berlin: Berlin).",
    "Removed from Role: Software Developers, Secure Coding.",
    "Added to People Manager Essentials (manages at least one person).",
    "Added to GDPR Essentials (country DE: GDPR Essentials).",
    "Added to Role: Accountants and Auditors (job code 13-2011.00).",
    "employee.terminated: deactivate the LMS account. Removed from Sales, Berlin.",
]
TARGET = (
    "employee.updated: update the LMS account. Added to Leadership Programme "
    "(job code 11-1021.00: Leadership Programme); Role: General and Operations Managers."
)


def test_search_finds_the_leadership_decision_among_thousands(tmp_path: Path) -> None:
    settings = Settings(
        var_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/a.db", admin_api_key=SecretStr(ADMIN)
    )
    engine = make_engine(settings.database_url)
    create_tables(engine)
    key = load_keys(settings).pseudonym
    rng = random.Random(7)
    texts, metas, entries = [], [], []
    for n in range(3000):
        receipt = f"rcpt_{n:05d}"
        subject = pseudonym(f"E{n % 900}", secret=key)
        text = TARGET if n == 1234 else " ".join(rng.sample(OTHER_REASONS, 2))
        texts.append(text)
        metas.append({"receipt_id": receipt, "subject": subject, "kind": "decision"})
        entries.append(
            AuditEntryCreate(
                receipt_id=receipt,
                subject=subject,
                actor="agent:provisioning",
                actor_kind=ActorKind.agent,
                action=AuditAction.decision_made,
                after={"groups": ["prog-leadership"] if n == 1234 else ["everyone"]},
            )
        )
    audit.append_many(engine, entries=entries)
    reasoning = reasoning_log(settings, firewall=get_guard().firewall)
    reasoning.collection.upsert(  # bulk fill; the recording path is tested with the graph
        ids=[f"{m['receipt_id']}:decision" for m in metas],
        documents=texts,
        embeddings=reasoning.embed_documents(texts),
        metadatas=metas,  # type: ignore[arg-type]
    )

    with TestClient(create_app(settings)) as client:
        answer = client.get(
            "/audit/search",
            params={"q": "why was this person added to the leadership programme", "k": 3},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        scoped = client.get(
            "/audit/search",
            params={"q": "leadership programme", "employee": "E1", "k": 3},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )

    assert answer.status_code == 200, answer.text
    hits = answer.json()
    assert hits[0]["entry"]["receipt_id"] == "rcpt_01234"
    assert hits[0]["entry"]["action"] == "decision_made"
    assert hits[0]["similarity"] > hits[-1]["similarity"] or len(hits) == 1
    assert all(h["entry"]["subject"] == pseudonym("E1", secret=key) for h in scoped.json())
