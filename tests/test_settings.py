"""Settings: environment variables with the LIAISON_ prefix; a bad one stops with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from liaison.bot.settings import Mode, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in list(__import__("os").environ):
        if name.startswith("LIAISON_"):
            monkeypatch.delenv(name)


def test_defaults_use_sqlite_in_the_data_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIAISON_DATA_DIR", "/srv/liaison")
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:////srv/liaison/liaison.db"
    assert settings.mode is Mode.POLLING
    assert settings.default_locale == "zh_CN"


def test_missing_token_names_the_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings().require_token()
    assert str(caught.value).startswith("LIAISON_BOT_TOKEN: missing")


def test_bad_mode_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIAISON_MODE", "carrier-pigeon")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith("LIAISON_MODE: ")
    assert "\n" not in str(caught.value)


def test_bad_nested_setting_names_the_nested_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIAISON_WEBHOOK__PORT", "99999")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith("LIAISON_WEBHOOK__PORT: ")


def test_webhook_mode_needs_a_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIAISON_MODE", "webhook")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "LIAISON_WEBHOOK__URL" in str(caught.value)


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LIAISON_DEFAULT_LOCALE=en\nLIAISON_LOG_LEVEL=debug\n")
    settings = load_settings()
    assert settings.default_locale == "en"
    assert settings.log_level == "DEBUG"


def test_token_is_never_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIAISON_BOT_TOKEN", "123456:SECRETSECRETSECRETSECRET")
    settings = load_settings()
    assert "SECRETSECRET" not in repr(settings)
    assert settings.require_token() == "123456:SECRETSECRETSECRETSECRET"
