"""How the CLI sets up logging: libraries that announce routine work at INFO are quieted."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from api.cli.output import configure_logging
from core.settings import Settings
from pii.identity import RecordIdentity
from pii.recognizers.record_deny_list import RecordDenyListRecognizer
from tests.factories import make_employee


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def root_at_info() -> Iterator[_Collect]:
    """The root logger as `talentsync worker` sets it at INFO, plus a collecting handler;
    put back afterwards (the levels are put back by conftest)."""
    handlers, level = logging.root.handlers[:], logging.root.level
    configure_logging(Settings(log_level="INFO"))
    collect = _Collect()
    logging.root.addHandler(collect)
    yield collect
    logging.root.handlers[:], logging.root.level = handlers, level


def test_scrubbing_a_record_logs_no_line_at_info(root_at_info: _Collect) -> None:
    # the scrubber builds a deny-list recognizer per record; Presidio announces each one
    identity = RecordIdentity.from_employee(make_employee())
    RecordDenyListRecognizer(identity)
    assert [r.getMessage() for r in root_at_info.records] == []


def test_our_own_info_lines_still_pass(root_at_info: _Collect) -> None:
    logging.getLogger("agents.runtime.worker").info("applied %s", "rcpt_1")
    assert [r.getMessage() for r in root_at_info.records] == ["applied rcpt_1"]
