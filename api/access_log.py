"""Access log lines without personal values in their paths.

The erasure route carries an HRIS id in its path (``DELETE /admin/employees/E1234``), and
uvicorn's access log would write it out; this filter puts the route's template in its
place, so log lines stay free of personal values like every other line of the service.
"""

from __future__ import annotations

import logging
import re

_PERSONAL_PATHS = ((re.compile(r"^/admin/employees/[^/?]+"), "/admin/employees/{external_id}"),)


def redact_path(path: str) -> str:
    for pattern, template in _PERSONAL_PATHS:
        path = pattern.sub(template, path)
    return path


class AccessPathFilter(logging.Filter):
    """For ``uvicorn.access`` records: args are (client, method, path, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            record.name == "uvicorn.access"
            and isinstance(args, tuple)
            and len(args) == 5
            and isinstance(args[2], str)
        ):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True
