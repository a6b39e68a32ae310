"""The composition root: built once from Settings, heavy parts on first use and only once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agents.services import PARTS, Services, build_services, open_services
from core.db import make_engine
from core.settings import Settings
from tools.mapping.rules import RulesMapper


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path, title_mapper="off", skill_mapper="off")


def test_intake_parts_are_built_at_once_and_nothing_heavy_is(settings: Settings) -> None:
    engine = make_engine(f"sqlite:///{settings.var_dir / 'db.sqlite'}")
    services = build_services(settings, engine)
    assert set(services.sources) == {"standard", "bamboohr", "merge"}
    assert services.catalog.by_id and len(services.vault_keys.pseudonym) == 32
    assert services._built == {}  # no guard, index, LMS client or checkpointer yet


def test_each_part_is_built_once_even_when_threads_ask_at_the_same_time(
    settings: Settings,
) -> None:
    engine = make_engine(f"sqlite:///{settings.var_dir / 'db.sqlite'}")
    with open_services(settings, engine) as services:
        with ThreadPoolExecutor(8) as pool:
            mappers = list(pool.map(lambda _: services.mapper, range(32)))
            policies = list(pool.map(lambda _: services.policy, range(32)))
        assert len({id(m) for m in mappers}) == 1 and isinstance(mappers[0], RulesMapper)
        assert len({id(p) for p in policies}) == 1


def test_warm_builds_every_part_and_close_releases_the_checkpointer(settings: Settings) -> None:
    engine = make_engine(f"sqlite:///{settings.var_dir / 'db.sqlite'}")
    with open_services(settings, engine) as services:
        services.warm()
        assert set(services._built) == set(PARTS)
        assert services.titles is None and services.skills is None  # switched off in settings
        checkpointer = services.checkpointer
    with pytest.raises(Exception, match="closed"):
        checkpointer.get_tuple({"configurable": {"thread_id": "t"}})


def test_using_replaces_named_parts_and_refuses_unknown_names(settings: Settings) -> None:
    engine = make_engine(f"sqlite:///{settings.var_dir / 'db.sqlite'}")
    services = build_services(settings, engine)
    mapper = RulesMapper(services.catalog)
    replaced = services.using(mapper=mapper)
    assert replaced.mapper is mapper and replaced.catalog is services.catalog
    assert services._built == {}  # the original is untouched
    with pytest.raises(TypeError, match="no part lms_client"):
        services.using(lms_client=object())
    assert isinstance(replaced, Services)


def test_the_api_reaches_services_only_through_api_deps() -> None:
    """``app.state`` is read in one place, so a route cannot grow its own way to a part."""
    api = Path(__file__).resolve().parents[2] / "api"
    readers = sorted(
        path.relative_to(api).as_posix()
        for path in api.rglob("*.py")
        if "app.state" in path.read_text(encoding="utf-8")
    )
    assert readers == ["app.py", "deps.py"]
