"""Decision replay: ask the same question again and see whether the answer still holds.

A recorded AI decision keeps its scrubbed title, the mapper, the prompt `id@version#hash`
and the model. Replaying runs that title through the mapper configured the same way
(the recorded prompt version, the recorded model name) and compares the role. A prompt file
edited since (a different hash under the same version) is reported, not hidden: the replay
then cannot be exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from agents.title_agent.stack import build_title_mapping
from core import audit
from core.audit import AuditAction
from core.catalog import load_catalog
from core.settings import Settings
from pii.guard import get_guard
from pii.identity import RecordIdentity
from prompts.loader import load_prompt


class ReplayError(ValueError):
    """The entry cannot be replayed; the message says why."""


class ReplayResult(BaseModel):
    seq: int
    title: str
    mapper: str
    recorded_role: str | None
    replayed_role: str | None
    recorded_confidence: float | None
    replayed_confidence: float
    prompt: str | None
    prompt_now: str | None
    model: str | None

    @property
    def same(self) -> bool:
        return self.recorded_role == self.replayed_role

    @property
    def exact(self) -> bool:
        """Same prompt text as then; otherwise a difference may be the prompt's doing."""
        return self.prompt == self.prompt_now


@dataclass(frozen=True)
class _Recorded:
    title: str
    mapper: str
    role: str | None
    confidence: float | None
    prompt: str | None
    model: str | None


def _recorded(engine: Engine, seq: int) -> _Recorded:
    entry = audit.get_entry(engine, seq=seq)
    if entry is None:
        raise ReplayError(f"no audit entry {seq}")
    if entry.action != AuditAction.decision_made:
        raise ReplayError(f"entry {seq} is a {entry.action}, not a decision")
    title = (entry.provenance or {}).get("title")
    if not title or not title.get("title"):
        raise ReplayError(f"entry {seq} was decided by rules alone: there is no AI step to replay")
    source = title.get("provenance", {})
    return _Recorded(
        title=str(title["title"]),
        mapper=str(source.get("mapper", "embedded")),
        role=title.get("role_id"),
        confidence=title.get("confidence"),
        prompt=source.get("prompt"),
        model=source.get("model"),
    )


def replay_decision(
    settings: Settings, engine: Engine, *, seq: int, chat_model: BaseChatModel | None = None
) -> ReplayResult:
    recorded = _recorded(engine, seq)
    overrides: dict[str, object] = {}
    prompt_now = None
    if recorded.mapper == "llm":
        if recorded.prompt is None:
            raise ReplayError(f"entry {seq} names no prompt version")
        version = recorded.prompt.split("#", 1)[0]
        prompt_now = load_prompt(version).ref
        overrides = {"title_mapper": "llm", "llm_prompt": version}
        if recorded.model:
            overrides["llm_model"] = recorded.model
    elif recorded.mapper in ("embedded", "memory"):
        overrides = {"title_mapper": "embedded"}
    configured = settings.model_copy(update=overrides)
    mapping = build_title_mapping(
        configured,
        catalog=load_catalog(settings.catalog_path),
        firewall=get_guard().firewall,
        chat_model=chat_model,
    )
    if mapping is None:
        raise ReplayError("title mapping is switched off in these settings")
    # memory answers for "memory" decisions; for the others ask the mapper itself
    suggestion = (
        mapping.suggest(recorded.title, department=None, identity=RecordIdentity())
        if recorded.mapper == "memory"
        else mapping.mapper.suggest(recorded.title, department=None, identity=RecordIdentity())
    )
    return ReplayResult(
        seq=seq,
        title=recorded.title,
        mapper=recorded.mapper,
        recorded_role=recorded.role,
        replayed_role=suggestion.role_id,
        recorded_confidence=recorded.confidence,
        replayed_confidence=suggestion.confidence,
        prompt=recorded.prompt,
        prompt_now=prompt_now,
        model=recorded.model,
    )
