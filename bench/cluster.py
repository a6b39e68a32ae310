"""TalentSync as separate processes on one machine, the way it is deployed to scale out.

The LMS sandbox (``talentsync lms-sandbox``), a Chroma server (``chroma run``), the API
(``talentsync serve``, with no inbox workers of its own on PostgreSQL) and N ``talentsync
worker`` processes, all configured by environment only. The end-to-end benchmark measures
it and the scale-out test kills one of its workers; both read what happened from the
database and the LMS, never from the processes' insides.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

REPO = Path(__file__).resolve().parents[1]
NO_REVIEW_POLICY = "version: 1\nshadow_mode: false\nrules: []\n"
"""Nothing waits for a person: these runs measure and check provisioning, not review."""
STARTUP_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class ClusterConfig:
    """What to start. ``serve_workers`` 0 is the API alone (the scale-out layout), None
    what `serve` starts by default; ``chroma`` False leaves each process its embedded
    Chroma (one process only)."""

    database_url: str
    var_dir: Path
    worker_processes: int
    serve_workers: int | None = 0
    worker_threads: int = 1
    chroma: bool = True
    lease_s: float = 60.0
    lms_users: int = 0  # users the LMS sandbox already holds, in full groups, at the start
    extra_env: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Process:
    """One child process and its log; its pid is the Python (or Chroma) process itself."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    metrics_url: str | None = None  # a worker's /metrics and /livez

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def rss_mib(self) -> float | None:
        """Resident set size from /proc (no psutil here); None once the process is gone."""
        return self._status_mib("VmRSS:")

    def _status_mib(self, key: str) -> float | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def peak_rss_mib(self) -> float | None:
        """The most it was resident at any time (VmHWM)."""
        return self._status_mib("VmHWM:")

    def cpu_s(self) -> float | None:
        """User + system CPU seconds used so far."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)


class Cluster:
    """Starts everything in ``__enter__`` (each part up before the next), stops it all in
    ``__exit__``, whatever happened in between.

    >>> with Cluster(ClusterConfig(database_url=url, var_dir=tmp, worker_processes=3)) as c:
    ...     c.api_url, c.workers
    """

    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        self.lms_token = secrets.token_urlsafe(16)
        self.admin_key = secrets.token_urlsafe(16)
        self.lms_root_url = f"http://127.0.0.1:{free_port()}"
        self.api_url = f"http://127.0.0.1:{free_port()}"
        self.chroma_url = f"http://127.0.0.1:{free_port()}" if config.chroma else None
        self.processes: list[Process] = []
        self.workers: list[Process] = []
        self.serve: Process | None = None
        self._worker_count = 0
        self._keys = (_key(), _key())

    @property
    def lms_url(self) -> str:
        return f"{self.lms_root_url}/v2"

    def environment(self) -> dict[str, str]:
        config = self.config
        policy = config.var_dir / "no_review_policy.yaml"
        policy.write_text(NO_REVIEW_POLICY)
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "TALENTSYNC_VAR_DIR": str(config.var_dir),
            "TALENTSYNC_DATABASE_URL": config.database_url,
            "TALENTSYNC_LMS_URL": self.lms_url,
            "TALENTSYNC_LMS_TOKEN": self.lms_token,
            "TALENTSYNC_WEBHOOK_SECRETS_STANDARD": self.webhook_secret,
            "TALENTSYNC_ADMIN_API_KEY": self.admin_key,
            # every process must wrap and pseudonymise with the same keys: given, not
            # generated under var_dir by whichever process starts first
            "TALENTSYNC_PII_MASTER_KEY": self._keys[0],
            "TALENTSYNC_PII_PSEUDONYM_KEY": self._keys[1],
            "TALENTSYNC_REVIEW_POLICY_PATH": str(policy),
            "TALENTSYNC_WORKER_LEASE_S": f"{config.lease_s:g}",
            "TALENTSYNC_WORKER_POLL_S": "0.05",
            "TALENTSYNC_WORKER_BACKOFF_BASE_S": "0.5",
            "TALENTSYNC_LOG_LEVEL": "INFO",
            "COLUMNS": "200",  # log lines unwrapped
            **config.extra_env,
        }
        if self.chroma_url is not None:
            env["TALENTSYNC_CHROMA_URL"] = self.chroma_url
        return env

    def _start(self, name: str, args: list[str]) -> Process:
        log = self.config.var_dir / f"{name}.log"
        popen = subprocess.Popen(
            args,
            env=self.environment(),
            cwd=REPO,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def _cli(self, name: str, *args: str) -> Process:
        return self._start(name, [sys.executable, "-m", "api.cli", *args])

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        lms_port = self.lms_root_url.rsplit(":", 1)[1]
        preload = ["--preload-users", str(self.config.lms_users)] if self.config.lms_users else []
        sandbox = self._cli("lms-sandbox", "lms-sandbox", "--port", lms_port, *preload)
        if self.chroma_url is not None:
            chroma = self._start(
                "chroma",
                [
                    str(Path(sys.executable).parent / "chroma"),
                    "run",
                    "--path",
                    str(self.config.var_dir / "chroma-server"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    self.chroma_url.rsplit(":", 1)[1],
                ],
            )
            _wait_for_http(f"{self.chroma_url}/api/v2/heartbeat", chroma)
        auth = {"authorization": f"Bearer {self.lms_token}"}
        _wait_for_http(f"{self.lms_url}/ServiceProviderConfig", sandbox, auth)
        api_port = self.api_url.rsplit(":", 1)[1]
        workers = self.config.serve_workers
        options = [] if workers is None else ["--workers", str(workers)]
        self.serve = self._cli("serve", "serve", "--port", api_port, *options)
        # serve creates the tables: the workers start on a schema that is already there
        _wait_for_http(f"{self.api_url}/healthz", self.serve)
        started = [self.add_worker() for _ in range(self.config.worker_processes)]
        for process in started:
            wait_for_log(process, "started", threads=self.config.worker_threads)
        if workers != 0:
            wait_for_log(self.serve, "started", threads=workers or 1)

    def add_worker(self) -> Process:
        """One more ``talentsync worker`` process (not waited for)."""
        self._worker_count += 1
        metrics_port = free_port()  # each worker on a host serves /metrics on a port of its own
        process = self._cli(
            f"worker-{self._worker_count}",
            "worker",
            "--threads",
            str(self.config.worker_threads),
            "--metrics-port",
            str(metrics_port),
        )
        process.metrics_url = f"http://127.0.0.1:{metrics_port}"
        self.workers.append(process)
        return process

    def check_alive(self, *, killed: Sequence[Process] = ()) -> None:
        """Raise, with its log, if a part died that was not killed on purpose."""
        for process in self.processes:
            if process not in killed and not process.alive():
                raise RuntimeError(
                    f"{process.name} exited with {process.popen.returncode}:\n{process.log_tail()}"
                )

    def kill(self, process: Process) -> None:
        """SIGKILL: no lease released, no run finished, nothing flushed."""
        os.kill(process.pid, signal.SIGKILL)
        process.popen.wait(timeout=10)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def _wait_for_http(url: str, process: Process, headers: Mapping[str, str] | None = None) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(
                f"{process.name} exited with {process.popen.returncode}:\n{process.log_tail()}"
            )
        try:
            if httpx.get(url, headers=dict(headers or {}), timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} ({process.name}) did not answer within {STARTUP_TIMEOUT_S:g} s")


def wait_for_log(process: Process, word: str, *, threads: int) -> None:
    """Until ``threads`` log lines say "worker ... ``word``": a worker logs it once its
    services are built (PII models, Chroma collections, the LMS's groups), so the clock of
    a measurement does not include start-up."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        said = re.findall(rf"worker \S+\s+{word}\b", process.log_tail(10_000_000))
        if len(said) >= threads:
            return
        if not process.alive():
            raise RuntimeError(
                f"{process.name} exited with {process.popen.returncode}:\n{process.log_tail()}"
            )
        time.sleep(0.2)
    raise TimeoutError(f"{process.name} did not log '{word}' within {STARTUP_TIMEOUT_S:g} s")
