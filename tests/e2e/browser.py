"""Serving the app and finding the browser, for the browser tests."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn
from fastapi import FastAPI

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1366, "height": 768}  # a laptop screen
REQUIRED = os.environ.get("TALENTSYNC_REQUIRE_BROWSER") == "1"  # CI installs it: no skipping
needs_browser = pytest.mark.skipif(
    not CHROMIUM.exists() and not REQUIRED,
    reason=f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium); "
    "Playwright's own browser download is not reachable here",
)


KEEP_SCREENSHOTS = os.environ.get("TALENTSYNC_SCREENSHOT_DIR")
"""A folder to keep the tests' screenshots in (for a closing note or a bug report)."""


def keep_screenshot(page: Page, path: Path, *, full_page: bool = False) -> Path:
    """Screenshot into ``path``, and a copy under the same name in
    ``TALENTSYNC_SCREENSHOT_DIR`` when it is set."""
    page.screenshot(path=str(path), full_page=full_page)
    if KEEP_SCREENSHOTS:
        Path(KEEP_SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(KEEP_SCREENSHOTS) / path.name)
    return path


class ServerThread:
    """uvicorn in a thread on a socket bound here, so the port is known before it starts."""

    def __init__(self, app: FastAPI) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port: int = self.socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
