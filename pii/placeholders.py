"""Placeholder numbering: within one record's run, a value gets the same `<TYPE_n>` in every
text, and the map back to the values is what the vault keeps (see `pii.scrubber`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pii.identity import normalise


@dataclass
class PlaceholderMap:
    """Placeholder numbering for one record's run; values match on their normalised form.

    One instance per record and run: sharing one across records would let a model correlate
    different people through their placeholder numbers.
    """

    _by_key: dict[tuple[str, str], str] = field(default_factory=dict)
    _originals: dict[str, str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def placeholder(self, entity_type: str, value: str) -> str:
        key = (entity_type, normalise(value))
        existing = self._by_key.get(key)
        if existing is not None:
            return existing
        number = self._counts.get(entity_type, 0) + 1
        self._counts[entity_type] = number
        token = f"<{entity_type}_{number}>"
        self._by_key[key] = token
        self._originals[token] = value
        return token

    def mapping(self) -> dict[str, str]:
        """placeholder -> the value as first seen (what the vault stores, encrypted)."""
        return dict(self._originals)
