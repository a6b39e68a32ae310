"""Title mapping as the provisioning graph uses it: tripwire, memory, then a mapper.

Order matters. The injection tripwire runs first so a suspicious title can never be
auto-applied, whatever memory or a model says. Approved memory comes next: a title the
customer already decided is not a question for a model. Only then is a mapper asked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pii.identity import RecordIdentity
from tools.mapping.injection import check_injection
from tools.mapping.role_directory import RoleDirectory
from tools.mapping.suggestion import RoleCandidate, RoleSuggestion, TitleMapper
from tools.titles.ranker import TitleRanker
from vectorstore.memory import ApprovedMapping, ApprovedMemory
from vectorstore.reasoning import ReasoningLog

log = logging.getLogger(__name__)

BLOCKING_FLAGS = frozenset(
    {"prompt_injection", "pii_refusal", "invalid_choice", "unparseable_answer", "llm_error"}
)
"""Any of these sends the proposal to a person whatever its confidence."""


@dataclass(frozen=True)
class TitleMapping:
    mapper: TitleMapper
    directory: RoleDirectory
    memory: ApprovedMemory | None
    reasoning: ReasoningLog | None
    memory_similarity: float = 0.97
    auto_apply_confidence: float = 0.8
    ranker: TitleRanker | None = None  # taught approved titles too, so neighbours rank better

    def learn(
        self,
        title: str,
        role_id: str,
        *,
        approved_by: str,
        subject: str,
        identity: RecordIdentity,
    ) -> None:
        """A reviewer's accepted or edited choice: next time this title needs no one."""
        if role_id not in self.directory:
            return
        if self.memory is not None:
            self.memory.add(
                [(title, role_id)], approved_by=approved_by, subject=subject, identity=identity
            )
        if self.ranker is not None:
            self.ranker.remember([(title, role_id)])

    def suggest(
        self, title: str, *, department: str | None, identity: RecordIdentity
    ) -> RoleSuggestion:
        tripwire = check_injection(" \n".join(filter(None, [title, department])))
        if not tripwire.suspicious and self.memory is not None:
            hit = self.memory.lookup(title, min_similarity=self.memory_similarity)
            if hit is not None and hit.role_id in self.directory:
                return self._from_memory(title, hit)
        suggestion = self.mapper.suggest(title, department=department, identity=identity)
        if tripwire.suspicious:
            suggestion = suggestion.model_copy(
                update={
                    "flags": [*suggestion.flags, "prompt_injection"],
                    "provenance": {**suggestion.provenance, "injection": list(tripwire.signals)},
                }
            )
        return suggestion

    def may_apply(self, suggestion: RoleSuggestion) -> bool:
        """Auto-apply only a catalog role, confidently chosen, with nothing suspicious."""
        return (
            suggestion.role_id is not None
            and suggestion.role_id in self.directory
            and suggestion.confidence >= self.auto_apply_confidence
            and not BLOCKING_FLAGS.intersection(suggestion.flags)
        )

    def _from_memory(self, title: str, hit: ApprovedMapping) -> RoleSuggestion:
        label = self.directory.label(hit.role_id)
        return RoleSuggestion(
            title=title,
            role_id=hit.role_id,
            confidence=hit.similarity,
            rationale=f"'{hit.title}' was approved as {label} by {hit.approved_by}.",
            candidates=[RoleCandidate(role_id=hit.role_id, label=label, score=hit.similarity)],
            evidence=[f"approved title: {hit.title}"],
            provenance={
                "mapper": "memory",
                "memory_hit": {
                    "title": hit.title,
                    "similarity": hit.similarity,
                    "approved_by": hit.approved_by,
                    "approved_at": hit.approved_at,
                },
            },
        )
