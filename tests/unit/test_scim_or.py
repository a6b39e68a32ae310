"""Cutting a batch's ``or`` filter into chunks a page and a URL hold, and telling an LMS
that does not take ``or`` from one that failed."""

from __future__ import annotations

import pytest

from tools.lms.errors import LMSError, LMSRejected, LMSUnavailable
from tools.lms.scim_or import MAX_ENCODED_CHARS, MAX_TERMS, or_filters, refuses_or


def terms(count: int, width: int = 4) -> list[str]:
    return [f'externalId eq "{n:0{width}d}"' for n in range(count)]


def test_chunks_hold_at_most_max_terms_in_order() -> None:
    chunks = list(or_filters(terms(7), max_terms=3))
    assert [list(positions) for positions, _ in chunks] == [[0, 1, 2], [3, 4, 5], [6]]
    assert chunks[0][1] == 'externalId eq "0000" or externalId eq "0001" or externalId eq "0002"'
    assert chunks[2][1] == 'externalId eq "0006"'


def test_the_default_is_max_terms() -> None:
    chunks = list(or_filters(terms(MAX_TERMS + 1)))
    assert [len(positions) for positions, _ in chunks] == [MAX_TERMS, 1]


def test_long_values_are_cut_by_their_encoded_length() -> None:
    long_terms = terms(MAX_TERMS, width=200)
    chunks = list(or_filters(long_terms))
    assert len(chunks) > 1
    assert [i for positions, _ in chunks for i in positions] == list(range(MAX_TERMS))
    for _, scim_filter in chunks:
        encoded = scim_filter.replace(" ", "%20").replace('"', "%22")
        assert len(encoded) <= MAX_ENCODED_CHARS


def test_a_term_longer_than_the_limit_goes_alone() -> None:
    huge = f'externalId eq "{"x" * MAX_ENCODED_CHARS}"'
    chunks = list(or_filters(['externalId eq "a"', huge, 'externalId eq "b"']))
    assert [list(positions) for positions, _ in chunks] == [[0], [1], [2]]


def test_no_terms_no_filters() -> None:
    assert list(or_filters([])) == []


@pytest.mark.parametrize(
    "error",
    [
        LMSRejected("LMS refused GET /Users", status=400, scim_type="invalidFilter"),
        LMSUnavailable("LMS failed GET /Users", status=501),
        LMSRejected("LMS refused", status=403, detail="Filter operator OR not supported"),
        LMSRejected("LMS refused", status=403, detail="unsupported filter"),
    ],
)
def test_refusals_of_or(error: LMSError) -> None:
    assert refuses_or(error)


@pytest.mark.parametrize(
    "error",
    [
        LMSRejected("LMS refused GET /Users", status=400, scim_type="tooMany"),
        LMSRejected("LMS refused GET /Users", status=400),
        LMSRejected("LMS refused the credentials", status=403),
        LMSRejected("LMS refused the credentials", status=403, detail="insufficient scope"),
        LMSRejected("LMS refused the credentials", status=401),
        LMSUnavailable("LMS failed GET /Users", status=503),
        LMSUnavailable("LMS failed GET /Users: ConnectError"),
        LMSError("LMS answered GET /Users with a payload that is not valid SCIM"),
    ],
)
def test_other_failures_are_not_refusals_of_or(error: LMSError) -> None:
    assert not refuses_or(error)
