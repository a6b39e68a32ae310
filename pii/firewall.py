"""The one chokepoint for text leaving the record: model prompts, vector-store documents and
metadata, audit free text. It rescans what is about to leave and refuses (fails closed)
when a known personal value of the record, or a high-confidence PII entity, is still there.

The scrubber is the first line; this is the check that the first line worked. A refusal
carries entity types and where they were found, never the values themselves.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from presidio_analyzer import AnalyzerEngine

from pii.allowlist import AllowedTerms
from pii.identity import RecordIdentity, is_whole_word, normalise
from pii.recognizers.contacts_and_ids import IDENTITY_AND_CONTACT_ENTITIES

log = logging.getLogger(__name__)

# Entities found by patterns with formats or checksums, trusted enough to block on. NER
# guesses are not: the small spaCy model tags "Map" in "Map the title ..." as PERSON at
# 0.85, which would refuse every prompt. Names are blocked through the record's own values
# (its names, its manager's names), which are exact.
BLOCKING_ENTITIES = frozenset(
    {
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "US_SSN",
        "CREDIT_CARD",
        "IBAN_CODE",
        "EMPLOYEE_ID",
        "STREET_ADDRESS",
    }
    | IDENTITY_AND_CONTACT_ENTITIES  # passport and national-id numbers, contact handles
)
_PLACEHOLDER = re.compile(r"<[A-Z_]+_\d+>")


class Channel(StrEnum):
    model_prompt = "model_prompt"
    vector_document = "vector_document"
    vector_metadata = "vector_metadata"
    audit_text = "audit_text"


@dataclass(frozen=True)
class Refusal:
    channel: Channel
    reason: str
    entity_types: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel.value,
            "reason": self.reason,
            "entity_types": list(self.entity_types),
        }


class FirewallRefusalError(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(f"{refusal.channel}: {refusal.reason}")
        self.refusal = refusal


def _texts(payload: str | Mapping[str, Any] | Iterable[Any]) -> list[str]:
    """Every string inside a payload (prompts are strings, metadata are nested mappings)."""
    if isinstance(payload, str):
        return [payload]
    if isinstance(payload, Mapping):
        return [t for key, value in payload.items() for t in (*_texts(str(key)), *_texts(value))]
    if isinstance(payload, Iterable):
        return [t for item in payload for t in _texts(item)]
    return [] if payload is None else [str(payload)]


def _contains_word(text: str, value: str) -> bool:
    """Whether value occurs in text with no word character either side.

    Plain substring search: a regex built per value would be compiled for every record,
    which costs more than the scan and pushes other patterns out of `re`'s small cache.
    """
    start = text.find(value)
    while start != -1:
        if is_whole_word(text, start, start + len(value)):
            return True
        start = text.find(value, start + 1)
    return False


class PIIFirewall:
    def __init__(
        self, analyzer: AnalyzerEngine, *, min_score: float = 0.4, memory: int = 20_000
    ) -> None:
        self._analyzer = analyzer
        self._min_score = min_score
        # Digests of texts the analyzer already found clean. An agent resends its whole
        # conversation on every call, and the system prompt is the same for every record;
        # digests rather than texts, so the cache itself holds nothing personal.
        self._clean: OrderedDict[bytes, None] = OrderedDict()
        self._memory = memory
        self._lock = threading.Lock()

    def check(
        self,
        payload: str | Mapping[str, Any] | Iterable[Any],
        *,
        identity: RecordIdentity,
        channel: Channel,
        allowed: AllowedTerms | Iterable[str] = (),
    ) -> None:
        """Return quietly if the payload may leave; raise ``FirewallRefusalError`` if not.

        Known values are searched in all strings of the payload together; the analyzer
        scans each string on its own. Scanning them joined let one string's words change
        another's score (a job code read as a phone number next to "call"), so a string
        found clean in one payload could be refused in the next, and the clean-digest cache
        made the answer depend on what had been checked before. Per string, the answer is
        a function of the payload alone.
        """
        texts = _texts(payload)
        # our own ids and catalog labels are not personal, though they can look it
        terms = allowed if isinstance(allowed, AllowedTerms) else AllowedTerms(allowed)
        texts = [terms.mask(text) for text in texts]
        refusal = self._inspect(texts, identity=identity, channel=channel)
        if refusal is not None:
            log.warning("PII firewall refused %s: %s", channel.value, refusal.reason)
            raise FirewallRefusalError(refusal)

    def _inspect(
        self, texts: list[str], *, identity: RecordIdentity, channel: Channel
    ) -> Refusal | None:
        text = "\n".join(texts)
        searchable = normalise(_PLACEHOLDER.sub(" ", text))
        for value in identity.values():
            if _contains_word(searchable, value):
                return Refusal(
                    channel, "a known personal value of the record is present", ("KNOWN_VALUE",)
                )
        digests = {hashlib.blake2b(t.encode(), digest_size=16).digest(): t for t in texts}
        with self._lock:
            unseen = {d: t for d, t in digests.items() if d not in self._clean}
        if not unseen:
            return None
        found = {
            result.entity_type
            for unseen_text in unseen.values()
            for result in self._analyzer.analyze(
                _PLACEHOLDER.sub(lambda m: " " * len(m.group()), unseen_text),
                language="en",
                entities=sorted(BLOCKING_ENTITIES),
                score_threshold=self._min_score,
            )
        }
        if found:
            return Refusal(channel, "high-confidence personal data detected", tuple(sorted(found)))
        with self._lock:
            for digest in unseen:
                self._clean[digest] = None
            while len(self._clean) > self._memory:
                self._clean.popitem(last=False)
        return None
