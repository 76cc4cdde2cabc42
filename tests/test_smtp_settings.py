"""SMTP settings: off by default, complete when on, one line naming the variable when wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from liaison.bot.application import smtp_config
from liaison.bot.settings import SettingsError, SmtpSecurity, load_settings
from liaison.sender.email_sender import Security


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("LIAISON_"):
            monkeypatch.delenv(name)


def test_smtp_unset_means_no_mail() -> None:
    settings = load_settings()
    assert not settings.smtp.enabled
    assert smtp_config(settings.smtp) is None


def test_smtp_complete_settings_give_the_sender_its_config_with_a_default_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIAISON_SMTP__HOST", "smtp.jinjiang.gov.cn")
    monkeypatch.setenv("LIAISON_SMTP__SECURITY", "tls")
    monkeypatch.setenv("LIAISON_SMTP__USER", "liaison")
    monkeypatch.setenv("LIAISON_SMTP__PASSWORD", "s3cret-pass")
    monkeypatch.setenv("LIAISON_SMTP__SENDER", "锦江联络 <liaison@jinjiang.gov.cn>")
    settings = load_settings()
    assert settings.smtp.security is SmtpSecurity.TLS and settings.smtp.port == 465
    assert "s3cret-pass" not in repr(settings)
    config = smtp_config(settings.smtp)
    assert config is not None
    assert (config.host, config.port, config.security) == (
        "smtp.jinjiang.gov.cn",
        465,
        Security.TLS,
    )
    assert config.password == "s3cret-pass" and "s3cret-pass" not in repr(config)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"LIAISON_SMTP__HOST": "smtp.example.com"}, "LIAISON_SMTP__SENDER: required"),
        (
            {"LIAISON_SMTP__HOST": "smtp.example.com", "LIAISON_SMTP__SENDER": "not an address"},
            "LIAISON_SMTP__SENDER: expected an address",
        ),
        (
            {
                "LIAISON_SMTP__HOST": "smtp.example.com",
                "LIAISON_SMTP__SENDER": "a@example.com",
                "LIAISON_SMTP__USER": "a",
            },
            "LIAISON_SMTP__PASSWORD: required",
        ),
        ({"LIAISON_SMTP__HOST": "smtp://example.com:25"}, "LIAISON_SMTP__HOST: expected a host"),
        ({"LIAISON_SMTP__PORT": "70000"}, "LIAISON_SMTP__PORT: "),
        ({"LIAISON_SMTP__SECURITY": "ssl3"}, "LIAISON_SMTP__SECURITY: "),
    ],
)
def test_smtp_bad_setting_stops_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], variable: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(variable)
    assert "\n" not in str(caught.value)
