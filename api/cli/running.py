"""The commands that run TalentSync: the service, workers alone, the LMS sandbox and the
demo that runs them all on a simulated HRIS stream."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn

from api.cli.database import announce_database, open_database
from api.cli.output import configure_logging, console, err_console
from core.catalog import load_catalog
from core.settings import Settings, get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI


API_WORKERS = 1
"""API processes `serve` starts by default. One, as measured on the project's 2-core machine
(README *Performance*): a second process had each inbox writer commit half the batch, so a
delivery cost 1.7x the CPU (3.0-3.5 ms against 1.9-2.0), which ate what the second core
gave; SQLite answered 280-360/s with one process against 171-244/s with two, PostgreSQL
the same with either. With more cores, or a cheaper delivery, try ``--api-workers``; on
SQLite the processes' writers take turns at the write lock (``core.inbox.write_turn``)."""


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Inbox worker threads (default: TALENTSYNC_WORKER_THREADS); 0 runs the API "
            "alone, with `talentsync worker` processes doing the work.",
        ),
    ] = None,
    api_workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="API processes (uvicorn workers) sharing the port; with more than one, the "
            "inbox workers run in this process beside them.",
        ),
    ] = API_WORKERS,
    access_log: Annotated[
        bool, typer.Option(help="Log every HTTP request (uvicorn's access log).")
    ] = False,
) -> None:
    """Run the API and the inbox workers."""
    settings = get_settings()
    configure_logging(settings)
    count = settings.worker_threads if workers is None else workers
    announce_database(settings)
    err_console.print(
        f"serve: API on http://{host}:{port} in {api_workers} "
        f"process{'es' if api_workers > 1 else ''}, {count} inbox worker "
        f"thread{'' if count == 1 else 's'}",
        highlight=False,
    )
    if api_workers == 1:
        from api.app import create_app

        app = create_app(settings, workers=count)
        uvicorn.run(app, host=host, port=port, log_config=None, access_log=access_log)
        return
    with ExitStack() as stack:
        if count:
            stack.enter_context(_inbox_workers(settings, count))
        # several processes need the app by name: each builds its own from the settings
        uvicorn.run(
            f"{__name__}:{api_process_app.__name__}",
            factory=True,
            workers=api_workers,
            host=host,
            port=port,
            log_config=None,
            access_log=access_log,
        )


def api_process_app() -> FastAPI:
    """What each of several API processes runs (uvicorn imports it by name): the API alone,
    logging as `serve` logs; `serve` runs the inbox workers itself."""
    from api.app import create_app

    settings = get_settings()
    configure_logging(settings)
    return create_app(settings, workers=0)


@contextmanager
def _inbox_workers(settings: Settings, count: int) -> Iterator[None]:
    from agents.runtime.workers import running_workers
    from agents.services import open_services

    engine = open_database(settings)
    try:
        with open_services(settings, engine) as services, running_workers(services, count=count):
            yield
    finally:
        engine.dispose()


def worker(
    threads: Annotated[int, typer.Option(help="Worker threads in this process.")] = 1,
    metrics_port: Annotated[
        int,
        typer.Option(
            help="Port of this process's /metrics (Prometheus) and /livez (liveness); "
            "0 turns it off. Give each worker process on a host its own."
        ),
    ] = 9100,
    metrics_host: Annotated[str, typer.Option(help="Interface of the metrics port.")] = (
        "127.0.0.1"
    ),
) -> None:
    """Run inbox workers only (scale out by starting more of these)."""
    from agents.runtime.probes import serving_probes
    from agents.runtime.workers import running_workers
    from agents.services import open_services

    settings = get_settings()
    configure_logging(settings)
    engine = open_database(settings)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    with ExitStack() as stack:
        if metrics_port:
            try:  # before anything is loaded: a taken port is a mistake to say at once
                server = stack.enter_context(
                    serving_probes(metrics_host, metrics_port, max_age_s=settings.worker_liveness_s)
                )
            except OSError as error:
                err_console.print(
                    f"[red]metrics port {metrics_port}: {error.strerror}; give each worker "
                    "process on this host its own --metrics-port (0: none)[/red]"
                )
                raise typer.Exit(1) from None
            err_console.print(
                f"worker probes on http://{metrics_host}:{server.server_port} (/metrics, /livez)"
            )
        services = stack.enter_context(open_services(settings, engine))
        stack.enter_context(running_workers(services, count=threads))
        done.wait()


def lms_sandbox(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8001,
    token: Annotated[
        str | None, typer.Option(help="Bearer token to require (default: TALENTSYNC_LMS_TOKEN).")
    ] = None,
    catalog: Annotated[Path | None, typer.Option(help="Catalog YAML to preload.")] = None,
    preload_users: Annotated[
        int,
        typer.Option(
            min=0, help="Users (PRE-000001...) already in the LMS, in groups by the catalog rules."
        ),
    ] = 0,
) -> None:
    """Run the bundled SCIM 2.0 LMS sandbox, preloaded with the catalog's groups."""
    from tools.lms.sandbox import serve_sandbox

    settings = get_settings()
    configure_logging(settings)
    bearer = token or (settings.lms_token.get_secret_value() if settings.lms_token else None)
    loaded = load_catalog(catalog or settings.catalog_path)
    console.print(
        f"LMS sandbox (SCIM 2.0) on http://{host}:{port}/v2 with {len(loaded.groups)} groups"
        f" and {preload_users:,} preloaded users"
    )
    serve_sandbox(host, port, loaded, bearer, preload=preload_users)


def demo(
    employees: Annotated[int, typer.Option(help="Employees in the simulated HRIS.")] = 320,
    api_port: Annotated[int, typer.Option()] = 8000,
    lms_port: Annotated[int, typer.Option()] = 8001,
    stay: Annotated[bool, typer.Option(help="Keep serving until Ctrl-C after the summary.")] = True,
    seed: Annotated[int, typer.Option()] = 7,
    write_env: Annotated[
        bool,
        typer.Option(
            help="Write ./.env pointing the CLI at the demo's data (never over your own .env)."
        ),
    ] = True,
) -> None:
    """Start sandbox, API and worker, replay a realistic signed HRIS stream, print a summary.

    Its state goes to TALENTSYNC_VAR_DIR/demo, and ./.env points later commands there."""
    from api.demo import run_demo

    raise typer.Exit(
        run_demo(
            console=console,
            var_dir=get_settings().var_dir,
            employees=employees,
            api_port=api_port,
            lms_port=lms_port,
            stay=stay,
            seed=seed,
            env_file=Path(".env") if write_env else None,
        )
    )
