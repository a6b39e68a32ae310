"""Every setting is documented in the README, so operators never have to read the code."""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`TALENTSYNC_{name.upper()}`" not in text]
    assert missing == []


def test_rotated_webhook_secrets_come_from_one_variable(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TALENTSYNC_WEBHOOK_SECRETS_STANDARD", "whsec_old, whsec_new")
    settings = Settings()
    assert [s.get_secret_value() for s in settings.webhook_secrets_standard] == [
        "whsec_old",
        "whsec_new",
    ]


def test_postgres_urls_are_recognised() -> None:
    assert Settings(database_url="postgresql://u@h/db").is_postgres
    assert not Settings().is_postgres
