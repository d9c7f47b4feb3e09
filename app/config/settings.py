"""Configuration from the environment and `.env`, validated once at start-up.

Errors are turned into one line naming the setting and how to fix it, because the person reading
them is usually setting the bot up for the first time.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./incident-bot.db"

# How to fix each setting, shown when it is missing or invalid.
HINTS: dict[str, str] = {
    "slack_bot_token": "the Bot User OAuth Token (xoxb-...) from your Slack app's OAuth page",
    "slack_signing_secret": "the Signing Secret from your Slack app's Basic Information page",
    "slack_app_token": "an app-level token (xapp-...) with connections:write, for Socket Mode",
    "slack_api_url": "a URL such as https://slack.com/api/",
    "database_url": "e.g. sqlite:///./incident-bot.db or postgresql://user@host/db",
    "policy_file": "the path of a readable YAML policy file",
    "port": "a TCP port number such as 3000",
    "timezone": "an IANA time zone name such as UTC or Europe/Paris",
    "log_level": "one of DEBUG, INFO, WARNING, ERROR",
    "log_format": "text or json",
    "lease_seconds": "a number of seconds such as 300 (at least 1)",
    "escalation_tick_seconds": "seconds between scheduler ticks, e.g. 5 (0: no scheduler)",
    "alert_webhook_token": "a random string of 16+ characters (e.g. `openssl rand -hex 32`), "
    "or unset it to disable /webhooks/alerts",
    "runbooks_dir": "a readable directory of runbook YAML files",
}

ALERT_TOKEN_MIN = 16


class ConfigError(Exception):
    """A configuration problem, already phrased for the person running the bot."""


def normalize_database_url(url: str) -> str:
    """Give the plain URLs people write the async driver SQLAlchemy needs."""
    url = url.strip()
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


class Settings(BaseSettings):
    """Every setting the bot reads; names are the environment variables, upper-cased."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    slack_bot_token: str
    slack_signing_secret: str
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = DEFAULT_DATABASE_URL
    policy_file: Path | None = None
    host: str = "0.0.0.0"
    port: int = 3000
    log_level: str = "INFO"
    log_format: str = "text"
    incidents_channel: str | None = None
    timezone: str = "UTC"
    # How long a replica's claim on work (an incident's setup, a page being sent) lasts: a
    # killed replica's half-done work is taken over by another run after this long.
    lease_seconds: float = 300.0
    # How often due pages and reminders are looked for; 0 runs no scheduler in this process.
    escalation_tick_seconds: float = 5.0
    alert_webhook_token: str | None = None
    runbooks_dir: Path | None = None

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: str) -> str:
        if not value.startswith("xoxb-"):
            raise ValueError("must start with xoxb-")
        return value

    @field_validator("slack_signing_secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith("xapp-"):
            raise ValueError("must start with xapp-")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        url = normalize_database_url(value)
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+")):
            raise ValueError("only SQLite and PostgreSQL are supported")
        return url

    @field_validator("incidents_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        return value.strip() or None if value else None

    @field_validator("alert_webhook_token")
    @classmethod
    def _alert_token(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if len(value.strip()) < ALERT_TOKEN_MIN:
            raise ValueError(f"must be at least {ALERT_TOKEN_MIN} characters")
        return value.strip()

    @field_validator("policy_file", "runbooks_dir", mode="before")
    @classmethod
    def _empty_path(cls, value: object) -> object:
        """`POLICY_FILE=` (as in .env.example) means "not set", not the current directory."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("runbooks_dir")
    @classmethod
    def _runbooks_dir(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        if not value.is_dir():
            raise ValueError(f"{value} is not a directory")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("escalation_tick_seconds")
    @classmethod
    def _tick(cls, value: float) -> float:
        if not 0 <= value <= 300:
            raise ValueError("must be between 0 and 300 seconds")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown level {value!r}")
        return value

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.lower() not in {"text", "json"}:
            raise ValueError(f"unknown format {value!r}")
        return value.lower()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def secrets(self) -> list[str]:
        """Values that must never appear in a log line."""
        from sqlalchemy.engine import make_url

        values = [self.slack_bot_token, self.slack_signing_secret]
        values += [v for v in (self.slack_app_token, self.alert_webhook_token) if v]
        password = make_url(self.database_url).password
        if password:
            values.append(str(password))
        return values


def load_settings(**overrides: object) -> Settings:
    """Read settings, raising ConfigError with one line per the first problem found."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        env = field.upper()
        hint = HINTS.get(field, "see the configuration table in README.md")
        if error["type"] == "missing":
            raise ConfigError(f"{env} is not set: set it to {hint}.") from None
        reason = error["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{env} is invalid ({reason}): set it to {hint}.") from None
