"""Our own vocabulary, which the firewall must not mistake for personal data.

Catalog ids look like phone numbers to a pattern scan ("role-15-1252") and catalog labels can
coincide with someone's name (a person called Cook next to the role "Line Cook", a Ms Sales
in the Sales department). Terms are masked only where they occur verbatim, so the same name
anywhere else in the text is still caught.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

_WORD = re.compile(r"\w+")


class AllowedTerms:
    """Masks known terms quickly even for large catalogs (~30k ESCO labels): terms are
    indexed by their first word, and only terms whose first word occurs are tried."""

    def __init__(self, terms: Iterable[str], *, base: AllowedTerms | None = None) -> None:
        by_first: defaultdict[str, set[str]] = defaultdict(set)
        for term in terms:
            words = _WORD.findall(term)
            if words and len(term.strip()) >= 2:
                by_first[words[0]].add(term)
        own = {word: tuple(found) for word, found in by_first.items()}
        self._indexes: tuple[dict[str, tuple[str, ...]], ...] = (
            *(base._indexes if base else ()),
            own,
        )

    def extended(self, terms: Iterable[str]) -> AllowedTerms:
        """This vocabulary plus a few run-specific terms, without re-indexing the catalog."""
        return AllowedTerms(terms, base=self)

    def __len__(self) -> int:
        return sum(len(found) for index in self._indexes for found in index.values())

    def mask(self, text: str) -> str:
        words = set(_WORD.findall(text))
        candidates = sorted(
            {term for index in self._indexes for w in words & index.keys() for term in index[w]},
            key=len,
            reverse=True,
        )
        for term in candidates:
            if term in text:
                text = re.sub(rf"(?<!\w){re.escape(term)}(?!\w)", " " * len(term), text)
        return text
