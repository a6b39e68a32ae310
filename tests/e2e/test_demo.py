"""`talentsync demo` end to end: separate sandbox and service processes, signed webhooks
over HTTP, a read-back of every person from the SCIM server, and the AI title outcomes and
review queue as the service's API reports them."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_demo_provisions_the_whole_stream_and_the_lms_matches_the_hris(tmp_path: Path) -> None:
    # wide enough that no table cell wraps: the assertions read rows line by line
    env = {**os.environ, "TALENTSYNC_VAR_DIR": str(tmp_path), "COLUMNS": "240"}
    api_port = _free_port()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "demo",
            "--employees",
            "60",
            "--no-stay",
            "--api-port",
            str(api_port),
            "--lms-port",
            str(_free_port()),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    assert "LMS matches the HRIS (account state and every group) for 60/60" in out
    assert "dead-lettered" in out
    assert (tmp_path / "demo" / "talentsync.db").exists()

    pending = re.search(r"reviews pending \(GET /reviews\)\s*│\s*(\d+) \(by rule: ([^)]*)\)", out)
    assert pending is not None, out
    assert int(pending.group(1)) > 0
    assert "prompt-injection" in pending.group(2)
    held = re.search(r"waiting for review\s*│\s*(\d+)", out)
    assert held is not None
    assert int(held.group(1)) > 0
    assert re.search(r"placed by the AI automatically\s*│\s*\d+", out)

    injection = [line for line in out.splitlines() if "Ignore previous instructions" in line]
    assert len(injection) == 1, out
    assert "held" in injection[0]
    assert "prompt-injection" in injection[0]
    assert "prompt_injection" in injection[0]

    assert f"http://127.0.0.1:{api_port}/ui/reviews" in out
    assert "TALENTSYNC_ADMIN_API_KEY" in out
