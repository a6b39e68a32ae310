"""Shared fixtures: databases (SQLite and the real PostgreSQL on 127.0.0.1:5432) and settings."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine, make_url

from core.catalog import load_catalog
from core.db import make_engine
from core.migrations import grant_app_role, upgrade
from core.schema import create_tables
from core.settings import Settings, get_settings
from tests.database_roles import APP_ROLE, OWNER_ROLE, POSTGRES_ADMIN_URL, role_url
from tools.mapping.embedded import EmbeddedTitleMapper
from tools.mapping.role_directory import RoleDirectory
from tools.titles.ranker import TitleRanker
from vectorstore.embeddings import default_embedder

# A developer's ./.env (`talentsync demo` writes one pointing at var/demo, where a running
# demo's embedded Chroma lives) must not steer the tests: they read the environment they set.
Settings.model_config["env_file"] = None


@functools.cache
def _test_roles() -> None:
    """Once per session, and idempotent across sessions (roles outlive databases)."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        for role in (OWNER_ROLE, APP_ROLE):
            admin.execute(
                f"DO $$ BEGIN CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            )


def _postgres_database(*, migrated: bool = True) -> Iterator[str]:
    """A throwaway database per test, so tests never see each other's rows: owned by
    ``OWNER_ROLE``, which creates the tables (``migrated``) and grants ``APP_ROLE`` the
    service's rights; the URL yielded connects as ``APP_ROLE``, like the service."""
    name = f"talentsync_test_{uuid.uuid4().hex[:10]}"
    try:
        _test_roles()
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:  # a missing server is a failure, not a skip
        pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {error}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}')
    database_url = role_url(
        make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False),
        APP_ROLE,
    )
    try:
        if migrated:
            owner = make_engine(role_url(database_url, OWNER_ROLE))
            upgrade(owner)
            grant_app_role(owner, role=APP_ROLE)
            owner.dispose()
        yield database_url
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every test using this runs twice: on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/talentsync.db"
    else:
        yield from _postgres_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables, on SQLite and on PostgreSQL; there the URL connects as the
    role that owns the database (``OWNER_ROLE``), which is who creates and migrates tables
    (``role_url(url, APP_ROLE)`` is the service's)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/talentsync.db"
    else:
        for app_url in _postgres_database(migrated=False):
            yield role_url(app_url, OWNER_ROLE)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """At head: created by the migrations on SQLite, already there on PostgreSQL."""
    engine = make_engine(database_url)
    create_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def role_directory() -> RoleDirectory:
    """The bundled demo catalog's roles, as AI title mappers see them."""
    return RoleDirectory(load_catalog())


@pytest.fixture(scope="session")
def embedded_mapper(role_directory: RoleDirectory) -> EmbeddedTitleMapper:
    """Built once per session: embedding the catalog's labels takes about a second."""
    return EmbeddedTitleMapper(
        role_directory, TitleRanker(role_directory.roles, default_embedder())
    )


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """For invoking the `talentsync` CLI in-process: a private var dir, wide tables, settings
    read afresh from the environment (set more with the returned monkeypatch, then
    ``get_settings.cache_clear()``), and the root logger put back afterwards, since commands
    configure logging for their own process."""
    handlers, level = logging.root.handlers[:], logging.root.level
    monkeypatch.setenv("TALENTSYNC_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()
    logging.root.handlers[:], logging.root.level = handlers, level


@pytest.fixture(autouse=True)
def _logger_levels() -> Iterator[None]:
    """Logger levels are process-wide: a command run in a test (``eval run`` quiets the
    ``agents`` and ``tools`` loggers) must not silence the next test's log lines."""
    loggers = logging.Logger.manager.loggerDict
    before = {n: lg.level for n, lg in loggers.items() if isinstance(lg, logging.Logger)}
    root = logging.getLogger().level
    yield
    for name, logger in list(loggers.items()):
        if isinstance(logger, logging.Logger):
            logger.setLevel(before.get(name, logging.NOTSET))
    logging.getLogger().setLevel(root)
