"""One JSON object per log line (``TALENTSYNC_LOG_FORMAT=json``), for log shippers.

Twenty lines instead of a dependency: the standard fields (time, level, logger, message),
the run ids `core.run_context` puts on records, whatever a call passed as ``extra``, and
the exception text when there is one. Values a JSON encoder does not know are written with
``str``; a line is never split, so a shipper can read the stream line by line.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

# attributes every LogRecord has; anything else on a record came from ``extra`` or a filter
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((key, value) for key, value in vars(record).items() if key not in _STANDARD)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)
