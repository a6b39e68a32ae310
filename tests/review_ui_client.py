"""The reviewer pages over HTTP for the unit tests: the real app on a throwaway SQLite
database, a TestClient that signs people in through the sign-in form, and the POSTs the
pages' htmx sends (the ``HX-Request`` header and the page's CSRF token)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from core import reviews
from core.db import make_engine
from core.schema import create_tables
from core.settings import Settings
from tests.review_ui_data import Parked, csrf_of, make_keys, park_review, ui_settings

HX = {"HX-Request": "true"}


@dataclass
class World:
    engine: Engine
    settings: Settings
    keys: dict[str, str]
    client: TestClient

    def park(self, n: int, **fields: object) -> Parked:
        return park_review(self.engine, self.settings, n, **fields)  # type: ignore[arg-type]

    def status(self, review_id: str) -> str:
        return reviews.get_review(self.engine, review_id=review_id).status


@contextmanager
def open_world(tmp_path: Path) -> Iterator[World]:
    settings = ui_settings(tmp_path)
    engine = make_engine(settings.database_url)
    create_tables(engine)
    keys = make_keys(engine)
    with TestClient(create_app(settings)) as client:
        yield World(engine, settings, keys, client)
    engine.dispose()


def sign_in(client: TestClient, credential: str, next_path: str = "/ui/reviews") -> Any:
    form = client.get("/ui/sign-in", params={"next": next_path})
    token = re.search(r'name="form_token" value="([^"]+)"', form.text)
    assert token is not None
    return client.post(
        "/ui/sign-in",
        data={"form_token": token.group(1), "credential": credential, "next": next_path},
        follow_redirects=False,
    )


def signed_in(world: World, who: str) -> str:
    """Sign ``who`` in and answer the CSRF token their pages carry."""
    response = sign_in(world.client, world.keys[who])
    assert response.status_code == 303, response.text
    return csrf_of(world.client.get("/ui/reviews").text)


def post(world: World, path: str, csrf: str, **data: object) -> Any:
    return world.client.post(path, data={"csrf_token": csrf, **data}, headers=HX)
