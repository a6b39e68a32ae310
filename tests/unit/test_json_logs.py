"""JSON log lines and the run ids every line of a run carries."""

from __future__ import annotations

import json
import logging
import sys
import threading
from typing import Any

import pytest

from api.access_log import AccessPathFilter, redact_path
from core.json_logs import JsonFormatter
from core.run_context import RunContextFilter, current_run, run_context


def _record(
    message: str, *args: object, name: str = "tests.logs", **extra: Any
) -> logging.LogRecord:
    logger = logging.getLogger(name)
    record = logger.makeRecord(name, logging.INFO, __file__, 1, message, args, None, extra=extra)
    RunContextFilter().filter(record)
    return record


def _line(record: logging.LogRecord) -> dict[str, Any]:
    text = JsonFormatter().format(record)
    assert "\n" not in text
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def test_a_line_is_one_json_object_with_the_standard_fields() -> None:
    line = _line(_record("applied %s: %d writes", "rcpt_1", 3))
    assert line["message"] == "applied rcpt_1: 3 writes"
    assert line["level"] == "INFO"
    assert line["logger"] == "tests.logs"
    assert line["timestamp"].endswith("+00:00")
    assert "receipt_id" not in line  # outside a run: no ids at all


def test_inside_a_run_every_line_carries_its_ids() -> None:
    with run_context(receipt_id="rcpt_a", run_id="run_a", subject="sub_a"):
        line = _line(_record("in the run"))
        assert current_run() == {"receipt_id": "rcpt_a", "run_id": "run_a", "subject": "sub_a"}
    assert (line["receipt_id"], line["run_id"], line["subject"]) == ("rcpt_a", "run_a", "sub_a")
    assert current_run() == {}


def test_extras_and_exceptions_are_fields_and_odd_values_are_strings() -> None:
    try:
        raise ValueError("multi\nline")
    except ValueError:
        record = _record("failed", lms_status=503, when=threading.Lock())
        record.exc_info = sys.exc_info()
    line = _line(record)
    assert line["lms_status"] == 503
    assert isinstance(line["when"], str)
    assert "ValueError: multi\nline" in line["exception"]  # escaped inside the one line


def test_worker_threads_keep_their_own_ids() -> None:
    seen: dict[str, str] = {}
    barrier = threading.Barrier(2)

    def run(receipt: str) -> None:
        with run_context(receipt_id=receipt, run_id="r", subject="s"):
            barrier.wait()  # both runs are open at once
            seen[receipt] = _line(_record("x"))["receipt_id"]

    threads = [threading.Thread(target=run, args=(r,)) for r in ("rcpt_1", "rcpt_2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"rcpt_1": "rcpt_1", "rcpt_2": "rcpt_2"}


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/admin/employees/E10001", "/admin/employees/{external_id}"),
        ("/admin/employees/E10001?x=1", "/admin/employees/{external_id}?x=1"),
        ("/reviews/rev_1", "/reviews/rev_1"),
    ],
)
def test_the_access_log_shows_the_erasure_route_without_the_id(path: str, shown: str) -> None:
    assert redact_path(path) == shown
    record = _record(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "DELETE", path, "1.1", 200, name="uvicorn.access"
    )
    AccessPathFilter().filter(record)
    assert record.getMessage() == f'127.0.0.1:5 - "DELETE {shown} HTTP/1.1" 200'
