"""Semantic search over the audit trail: questions in words, answers as audit entries.

Reasoning documents are keyed by receipt (one decision per run); a hit is answered with the
``decision_made`` entry of that receipt, so what comes back is the tamper-evident record,
not the vector store's copy of it. Filters are applied to the entries, like any audit query.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from core import audit
from core.audit import AuditAction, AuditEntry, AuditFilter
from vectorstore.reasoning import ReasoningLog

OVERFETCH = 5
"""Hits per wanted answer: several documents (title, decision) can share one receipt, and
filters drop some."""


@dataclass(frozen=True)
class AuditHit:
    entry: AuditEntry
    similarity: float
    text: str


def search_audit(
    engine: Engine, reasoning: ReasoningLog, *, query: str, where: AuditFilter, k: int = 10
) -> list[AuditHit]:
    chroma_where = {"subject": where.subject} if where.subject else None
    hits = reasoning.search(query, k=k * OVERFETCH, where=chroma_where)
    answers: list[AuditHit] = []
    seen: set[str] = set()
    for hit in hits:
        receipt = str(hit.metadata.get("receipt_id", ""))
        if not receipt or receipt in seen:
            continue
        seen.add(receipt)
        scoped = where.model_copy(
            update={"receipt_id": receipt, "action": AuditAction.decision_made}
        )
        entries = audit.query(engine, where=scoped, limit=1)
        if entries:
            answers.append(AuditHit(entries[0], hit.similarity, hit.text))
        if len(answers) == k:
            break
    return answers
