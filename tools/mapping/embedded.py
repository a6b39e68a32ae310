"""The default, offline title mapper: the hybrid ranker over the catalog's roles.

No model call and no network: it runs wherever TalentSync runs, and its confidence is the
ranker's calibrated probability that the top role is right.
"""

from __future__ import annotations

from pii.identity import RecordIdentity
from tools.mapping.role_directory import RoleDirectory
from tools.mapping.suggestion import RoleCandidate, RoleSuggestion
from tools.titles.ranker import Candidate, TitleRanker

SHORTLIST = 8


class EmbeddedTitleMapper:
    name = "embedded"

    def __init__(self, directory: RoleDirectory, ranker: TitleRanker) -> None:
        self.directory = directory
        self.ranker = ranker

    def candidates(self, text: str, k: int = SHORTLIST) -> tuple[list[RoleCandidate], float]:
        """Ranked roles for any text, and the ranker's confidence in the first."""
        result = self.ranker.rank(text, k=k)
        return self._shortlist(result.candidates), result.confidence

    def _shortlist(self, ranked: list[Candidate]) -> list[RoleCandidate]:
        return [
            RoleCandidate(
                role_id=c.role_id, label=self.directory.label(c.role_id), score=round(c.score, 4)
            )
            for c in ranked
        ]

    def suggest(
        self, title: str, *, department: str | None, identity: RecordIdentity
    ) -> RoleSuggestion:
        result = self.ranker.rank(title, k=SHORTLIST)
        candidates = self._shortlist(result.candidates)
        if not candidates:
            return RoleSuggestion(
                title=title, role_id=None, confidence=0.0, rationale="the catalog has no roles"
            )
        top = result.candidates[0]
        return RoleSuggestion(
            title=title,
            role_id=top.role_id,
            confidence=round(result.confidence, 4),
            rationale=_rationale(result.title.text, top, candidates),
            candidates=candidates,
            evidence=_evidence(top),
            flags=["low_confidence"] if result.abstained else [],
            provenance={
                "mapper": self.name,
                "memory_size": self.ranker.memory_size,
                "adapter": adapter_digest(self.ranker),
            },
        )


def adapter_digest(ranker: TitleRanker) -> str | None:
    """The stored adapter's key digest, so a decision can be traced to the matrix (and the
    weights profile) that shaped it; None when the ranker ran without one."""
    if ranker.adapter is None:
        return None
    return ranker.adapter.digest or "unsaved"


def _evidence(top: Candidate) -> list[str]:
    evidence = []
    if "label" in top.evidence:
        evidence.append(f"label: {top.evidence['label']}")
    if "approved_title" in top.evidence:
        evidence.append(f"approved title: {top.evidence['approved_title']}")
    return evidence


def _rationale(normalised: str, top: Candidate, candidates: list[RoleCandidate]) -> str:
    basis = (
        f"an approved title '{top.evidence['approved_title']}'"
        if "approved_title" in top.evidence
        and float(top.evidence.get("memory_lexical", 0))
        >= float(top.evidence.get("label_lexical", 0))
        else f"the catalog label '{top.evidence.get('label', candidates[0].label)}'"
    )
    runner_up = f"; next: {candidates[1].label}" if len(candidates) > 1 else ""
    return (
        f"'{normalised}' is closest to {basis} of {candidates[0].label} "
        f"(score {candidates[0].score:.2f}{runner_up})."
    )
