"""Settings from LIAISON_* environment variables and an optional .env file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "LIAISON_"
NESTED_DELIMITER = "__"


class Mode(StrEnum):
    POLLING = "polling"
    WEBHOOK = "webhook"


class WebhookSettings(BaseModel):
    listen: str = "127.0.0.1"
    port: int = Field(default=8443, ge=1, le=65535)
    url: str | None = None
    path: str = "telegram"
    secret_token: SecretStr | None = None


class SendingSettings(BaseModel):
    global_rate: float = Field(default=25.0, gt=0)
    per_chat_interval: float = Field(default=1.0, ge=0)
    # Outbox sends in flight at once: about rate × Telegram's latency, with room to spare.
    max_in_flight: int = Field(default=16, ge=1)
    tick_seconds: float = Field(default=30.0, gt=0)


class ThrottleSettings(BaseModel):
    # Each Telegram user may send a burst of this many updates, refilled at `rate` a second;
    # more are dropped (bot/throttle.py). Raise them only for load tests.
    burst: float = Field(default=20.0, gt=0)
    rate: float = Field(default=0.5, gt=0)


class UpdatesSettings(BaseModel):
    # Updates of different people handled at once; unset: 1 on SQLite, 8 on PostgreSQL
    # (bot/inbox.py, default_concurrency). One person's are always one at a time, in order.
    concurrency: int | None = Field(default=None, ge=1, le=64)


class HealthSettings(BaseModel):
    # An outbox row due this long ago and still not sent means something is stuck.
    stuck_minutes: float = Field(default=10.0, gt=0)
    # In polling mode, a small server for GET /healthz and GET /metrics (the webhook app
    # serves them in webhook mode); off while no port is set.
    listen: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535)


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"


DEFAULT_SMTP_PORTS = {SmtpSecurity.STARTTLS: 587, SmtpSecurity.TLS: 465, SmtpSecurity.NONE: 25}


class SmtpSettings(BaseModel):
    """The mail server for digests and exports by e-mail; off while ``host`` is unset."""

    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    user: str | None = None
    password: SecretStr | None = None
    sender: str | None = None
    timeout: float = Field(default=30.0, gt=0)
    max_attachment_mb: float = Field(default=20.0, gt=0)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if value and (" " in value or "/" in value or ":" in value.strip("[]")):
            raise ValueError("expected a host name such as smtp.example.com (no scheme, no port)")
        return value or None

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        from email.utils import parseaddr

        from liaison.services.emails import normalise_email

        if not (value or "").strip():
            return None
        assert value is not None
        _, address = parseaddr(value)
        if normalise_email(address) is None:
            raise ValueError("expected an address such as Liaison <liaison@example.com>")
        return value.strip()

    @model_validator(mode="after")
    def _complete(self) -> SmtpSettings:
        if self.host is None:
            return self
        if self.sender is None:
            raise ValueError(
                f"{ENV_PREFIX}SMTP__SENDER: required when {ENV_PREFIX}SMTP__HOST is set"
            )
        if self.user and self.password is None:
            raise ValueError(
                f"{ENV_PREFIX}SMTP__PASSWORD: required when {ENV_PREFIX}SMTP__USER is set"
            )
        if self.port is None:
            self.port = DEFAULT_SMTP_PORTS[self.security]
        return self

    @property
    def enabled(self) -> bool:
        return self.host is not None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    bot_token: SecretStr | None = None
    bot_username: str | None = None
    data_dir: Path = Path("data")
    database_url: str = ""
    api_base_url: str = "https://api.telegram.org/bot"
    api_file_base_url: str = "https://api.telegram.org/file/bot"
    mode: Mode = Mode.POLLING
    webhook: WebhookSettings = WebhookSettings()
    sending: SendingSettings = SendingSettings()
    health: HealthSettings = HealthSettings()
    throttle: ThrottleSettings = ThrottleSettings()
    updates: UpdatesSettings = UpdatesSettings()
    smtp: SmtpSettings = SmtpSettings()
    default_locale: str = "zh_CN"
    default_phone_region: str = "CN"
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.TEXT

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        from liaison.ui.i18n import SUPPORTED_LOCALES

        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"expected one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'liaison.db'}"
        if self.mode is Mode.WEBHOOK and not self.webhook.url:
            raise ValueError("LIAISON_WEBHOOK__URL is required when LIAISON_MODE=webhook")
        return self

    def require_token(self) -> str:
        if self.bot_token is None or not self.bot_token.get_secret_value().strip():
            raise SettingsError(
                f"{ENV_PREFIX}BOT_TOKEN: missing; get a token from @BotFather (see README)"
            )
        return self.bot_token.get_secret_value().strip()


class SettingsError(Exception):
    """A setting is missing or wrong; the message names the variable in one line."""


def load_settings(**overrides: object) -> Settings:
    """Reads settings, turning a validation failure into one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(part) for part in first["loc"]]
        name = ENV_PREFIX + NESTED_DELIMITER.join(loc).upper() if loc else "settings"
        message = first["msg"].removeprefix("Value error, ")
        if message.startswith(ENV_PREFIX):
            raise SettingsError(message) from None
        raise SettingsError(f"{name}: {message}") from None
