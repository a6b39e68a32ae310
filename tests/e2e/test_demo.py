"""`talentsync demo` end to end: separate sandbox and service processes, signed webhooks
over HTTP, and a read-back of every person from the SCIM server."""

from __future__ import annotations

import os
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
    env = {**os.environ, "TALENTSYNC_VAR_DIR": str(tmp_path), "COLUMNS": "120"}
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
            str(_free_port()),
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
    assert "LMS matches the HRIS (account state and every group) for 60/60" in result.stdout
    assert "dead-lettered" in result.stdout
    assert (tmp_path / "demo" / "talentsync.db").exists()
