"""The tools the title agent may call: read-only views of the catalog and of past approvals.

Each tool that lists roles returns their ids as the message artifact, so the agent graph
knows exactly which ids were shown to the model and can refuse any other.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool, StructuredTool

from tools.mapping.embedded import EmbeddedTitleMapper
from tools.mapping.role_directory import RoleDirectory
from tools.mapping.suggestion import RoleCandidate
from vectorstore.memory import ApprovedMemory

SEARCH_RESULTS = 8


def candidate_lines(candidates: list[RoleCandidate]) -> str:
    return "\n".join(f"{c.role_id} | {c.label} | {c.score:.2f}" for c in candidates) or "(none)"


def make_catalog_tools(
    *,
    directory: RoleDirectory,
    embedded: EmbeddedTitleMapper,
    memory: ApprovedMemory | None,
) -> list[BaseTool]:
    def search_catalog(query: str) -> tuple[str, list[str]]:
        """Search the catalog's roles with your own words (a job name, a field of work)."""
        candidates, _ = embedded.candidates(query, k=SEARCH_RESULTS)
        return candidate_lines(candidates), [c.role_id for c in candidates]

    def get_role_details(role_id: str) -> tuple[str, list[str]]:
        """Read one role's description and other names, to check it fits."""
        if role_id not in directory:
            return f"No role with id {role_id!r} in the catalog.", []
        return directory.details(role_id), []

    def find_similar_approved(title: str) -> tuple[str, list[str]]:
        """How titles similar to this one were approved before, with their similarity."""
        found = memory.nearest(title, k=5) if memory is not None else []
        known = [m for m in found if m.role_id in directory]
        lines = [
            f"{m.title!r} -> {m.role_id} | {directory.label(m.role_id)} | {m.similarity:.2f}"
            for m in known
        ]
        return "\n".join(lines) or "No approved titles yet.", [m.role_id for m in known]

    return [
        StructuredTool.from_function(fn, response_format="content_and_artifact")
        for fn in (search_catalog, get_role_details, find_similar_approved)
    ]
