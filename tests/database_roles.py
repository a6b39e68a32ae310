"""The PostgreSQL roles the tests run as, the two README "Deployment" describes: the tables'
owner (runs the migrations) and the service's role (owns nothing, cannot disable a trigger).
The administrator only creates and drops the throwaway databases."""

from __future__ import annotations

import os

from sqlalchemy.engine import make_url

POSTGRES_ADMIN_URL = os.environ.get(
    "TALENTSYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

APP_ROLE = "talentsync_app"
"""The service's role in the tests, as README "Deployment" asks: no superuser, owns nothing."""
OWNER_ROLE = "talentsync_owner"
"""Owns each test database and its tables, and runs the migrations (``db upgrade``)."""


def role_url(database_url: str, role: str) -> str:
    """The same database as another role (SQLite has none: the URL as it is)."""
    if database_url.startswith("sqlite"):
        return database_url
    url = make_url(database_url).set(username=role, password=None)
    return url.render_as_string(hide_password=False)


def superuser_url(database_url: str) -> str:
    """The same database as the administrator (what an attacker with a stolen superuser has)."""
    return role_url(database_url, make_url(POSTGRES_ADMIN_URL).username or "postgres")
