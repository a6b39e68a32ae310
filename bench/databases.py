"""Throwaway databases for the benchmarks: a temporary SQLite file or a fresh PostgreSQL
database dropped afterwards, so a run never reads rows an earlier run left behind. A
PostgreSQL one is brought to the schema's head here, as its owner would with `talentsync db
upgrade` (the service refuses an empty PostgreSQL database rather than own its tables)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from core.db import make_engine
from core.schema import create_tables

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    name = f"talentsync_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{admin_url.rsplit('/', 1)[0]}/{name}"
    try:
        engine = make_engine(url)
        try:
            create_tables(engine)  # the migrations, to head
        finally:
            engine.dispose()
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
