"""SCIM ``or`` filters (RFC 7644 §3.4.2.2) for reading many users, or many users' groups,
in one search: ``externalId eq "a" or externalId eq "b" ...``.

A batch of employees is cut into chunks that one page of the answer holds (the server's
``filter.maxResults``) and one URL carries (proxies and servers commonly refuse request
lines past 8 KiB). Servers that do not take ``or`` say so with 400 ``invalidFilter``, 501,
or a 403 saying it is not supported; ``refuses_or`` tells those from real failures.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from urllib.parse import quote

from tools.lms.errors import LMSError

MAX_TERMS = 50
# The filter as it travels in the query string (percent-encoded): half of the 8 KiB request
# line many servers allow, leaving room for the base URL and the other parameters.
MAX_ENCODED_CHARS = 4000
_OR = " or "
_NOT_SUPPORTED = ("not supported", "unsupported", "not implemented")


def or_filters(terms: Sequence[str], *, max_terms: int = MAX_TERMS) -> Iterator[tuple[range, str]]:
    """``terms`` (each an ``eq`` filter, quoted by the caller) joined by ``or`` into filters
    of at most ``max_terms`` terms and ``MAX_ENCODED_CHARS`` encoded characters, each with
    the positions of the terms it holds; a term too long on its own is a filter alone."""
    start = 0
    size = 0
    for index, term in enumerate(terms):
        cost = len(quote(term, safe="")) + len(quote(_OR, safe=""))
        if index > start and (index - start >= max_terms or size + cost > MAX_ENCODED_CHARS):
            yield range(start, index), _OR.join(terms[start:index])
            start, size = index, 0
        size += cost
    if start < len(terms):
        yield range(start, len(terms)), _OR.join(terms[start:])


def refuses_or(error: LMSError) -> bool:
    """Whether an LMS error answering an ``or`` filter means the LMS does not take ``or``
    (then one search per value works), rather than a failure every search would meet: a 403
    counts only when it says "not supported", since it usually means the credentials."""
    status = getattr(error, "status", None)
    if status == 400:
        return getattr(error, "scim_type", None) == "invalidFilter"
    if status == 501:
        return True
    if status == 403:
        detail = str(getattr(error, "detail", None) or "").casefold()
        return any(phrase in detail for phrase in _NOT_SUPPORTED)
    return False
