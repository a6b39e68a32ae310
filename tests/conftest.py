"""Shared fixtures: databases (SQLite and the real PostgreSQL on 127.0.0.1:5432) and settings."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine

from core.catalog import load_catalog
from core.db import make_engine
from core.schema import create_tables
from core.settings import Settings, get_settings
from tools.mapping.embedded import EmbeddedTitleMapper
from tools.mapping.role_directory import RoleDirectory
from tools.titles.ranker import TitleRanker
from vectorstore.embeddings import default_embedder

# A developer's ./.env (`talentsync demo` writes one pointing at var/demo, where a running
# demo's embedded Chroma lives) must not steer the tests: they read the environment they set.
Settings.model_config["env_file"] = None

POSTGRES_ADMIN_URL = os.environ.get(
    "TALENTSYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _postgres_database() -> Iterator[str]:
    """A throwaway database per test, so tests never see each other's rows."""
    name = f"talentsync_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:  # a missing server is a failure, not a skip
        pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {error}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
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


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
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
