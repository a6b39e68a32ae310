"""`talentsync demo` end to end: separate sandbox and service processes, signed webhooks
over HTTP, a read-back of every person from the SCIM server, and the AI title outcomes and
review queue as the service's API reports them."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Mapping
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
    # wide enough that no table cell wraps: the assertions read rows line by line; no
    # TALENTSYNC_VAR_DIR, as a newcomer runs it: the default ./var, in a folder of its own
    env = {**_without_talentsync_settings(os.environ), "COLUMNS": "240"}
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
    demo_db = tmp_path / "var" / "demo" / "talentsync.db"
    assert demo_db.exists()

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

    # what a newcomer types next, in the same folder: the CLI reads what the demo showed
    assert "Wrote .env" in out
    after: dict[str, subprocess.CompletedProcess[str]] = {}
    for command in ("inbox", "audit verify", "audit query --limit 5"):
        after[command] = subprocess.run(
            [sys.executable, "-m", "api.cli", *command.split()],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        result = after[command]
        assert result.returncode == 0, result.stderr
        assert f"database: sqlite:///{demo_db.resolve()}" in result.stderr, result.stderr
        assert "empty" not in result.stderr
    assert "Audit chain intact" in after["audit verify"].stdout
    table = after["audit query --limit 5"].stdout
    seqs = [int(m) for m in re.findall(r"^│\s*(\d+)\s*│", table, flags=re.MULTILINE)]
    assert len(seqs) == 5 and seqs == sorted(seqs, reverse=True), table


def _without_talentsync_settings(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if not k.startswith("TALENTSYNC_")}
