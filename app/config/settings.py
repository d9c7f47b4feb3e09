"""Configuration from the environment and `.env`, validated once at start-up.

Errors are turned into one line naming the setting and how to fix it, because the person reading
them is usually setting the bot up for the first time.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError, ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict

from app.config.hints import HINTS
from app.config.paging_settings import PagingSettings
from app.config.source_settings import SourceSettings
from app.config.tracker_settings import TrackerSettings
from app.config.web_settings import WebSettings

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./incident-bot.db"


ALERT_TOKEN_MIN = 16
# Sources with a token setting of their own, ALERT_WEBHOOK_TOKEN_<SOURCE>.
ALERT_TOKEN_SOURCES = (
    "alertmanager",
    "sentry",
    "uptimerobot",
    "generic",
    "grafana",
)
# Alert sources whose deliveries come through another, signed door: no /webhooks/alerts/<source>
# (PagerDuty's own incidents arrive with its v3 webhooks at /webhooks/pagerduty, Vercel's
# failed deployments at /webhooks/deployments/vercel).
# probe: the bot's own checks, no webhook.
ALERT_SOURCES_ELSEWHERE = ("pagerduty", "vercel", "probe")


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


class Settings(TrackerSettings, PagingSettings, SourceSettings, WebSettings):
    """Every setting the bot reads; names are the environment variables, upper-cased. The
    trackers' are in `TrackerSettings`, the pages beyond Slack's in `PagingSettings`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    slack_bot_token: str
    slack_signing_secret: str
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    # Calls are paced within Slack's rate tiers (chat.postMessage: per channel); this multiplies
    # the tiers' windows (tests shrink them) and 0 stops the pacing (a 429's Retry-After is
    # still waited out).
    slack_rate_limit_scale: float = 1.0
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
    # The scheduler wakes when the next step falls due (or another replica plans one); this is
    # the longest it sleeps without looking anyway. 0 runs no scheduler in this process.
    escalation_tick_seconds: float = 5.0
    # Every worker (a process's scheduler, a page sent at declare) beats this often while it
    # holds work; after three missed beats it is known dead and its work is taken over.
    worker_heartbeat_seconds: float = 1.0
    alert_webhook_token: str | None = None
    runbooks_dir: Path | None = None

    # --- Alert intake: per-source tokens, Sentry's signature, the storm limit -----------------
    # A source's own token replaces ALERT_WEBHOOK_TOKEN for that source (a Sentry URL with its
    # ?token= then opens nothing else); a source with no token is disabled (404).
    alert_webhook_token_alertmanager: str | None = None
    alert_webhook_token_sentry: str | None = None
    alert_webhook_token_uptimerobot: str | None = None
    alert_webhook_token_generic: str | None = None
    alert_webhook_token_grafana: str | None = None
    # The Client Secret of the Sentry integration: every Sentry delivery must then carry a valid
    # Sentry-Hook-Signature (hex HMAC-SHA256 of the body), or it gets 401. Sentry needs no token
    # when this is set and no token applies to it.
    sentry_client_secret: str | None = None
    # How many incidents alerts of one source may open per minute; past it, that source's new
    # alerts are attached to one "alert storm" incident instead. 0: no limit.
    alert_storm_limit: int = 5

    @field_validator(
        "alert_webhook_token_alertmanager",
        "alert_webhook_token_sentry",
        "alert_webhook_token_uptimerobot",
        "alert_webhook_token_generic",
        "alert_webhook_token_grafana",
    )
    @classmethod
    def _source_token(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if len(value.strip()) < ALERT_TOKEN_MIN:
            raise ValueError(f"must be at least {ALERT_TOKEN_MIN} characters")
        return value.strip()

    @field_validator("sentry_client_secret")
    @classmethod
    def _sentry_secret(cls, value: str | None) -> str | None:
        return value.strip() or None if value else None

    @field_validator("alert_storm_limit")
    @classmethod
    def _storm_limit(cls, value: int) -> int:
        if not 0 <= value <= 10_000:
            raise ValueError("must be between 0 and 10000")
        return value

    def alert_token(self, source: str) -> str | None:
        """The token `source` must send: its own ALERT_WEBHOOK_TOKEN_<SOURCE>, else the shared
        ALERT_WEBHOOK_TOKEN; None when neither is set."""
        own = getattr(self, f"alert_webhook_token_{source}", None)
        return own if isinstance(own, str) else self.alert_webhook_token

    def alert_source_enabled(self, source: str) -> bool:
        """Whether /webhooks/alerts/<source> exists: it has a token, or it is Sentry and its
        signatures are checked. Never for a source that arrives through another door."""
        if source in ALERT_SOURCES_ELSEWHERE:
            return False
        if self.alert_token(source) is not None:
            return True
        return source == "sentry" and self.sentry_client_secret is not None

    @property
    def alert_secrets(self) -> list[str]:
        tokens = [getattr(self, f"alert_webhook_token_{s}") for s in ALERT_TOKEN_SOURCES]
        return [v for v in (self.alert_webhook_token, *tokens, self.sentry_client_secret) if v]

    # --- Request hygiene: HTTP timeouts and limits, the ops port, Slack's debug logs ----------
    # /metrics and the detailed /health on their own port (OPS_HOST defaults to HOST); PORT's
    # /health then says only whether the bot is healthy. Unset: both on PORT, as before.
    ops_host: str | None = None
    ops_port: int | None = None
    # A client that has not sent a request's headers (or its body) within this long is cut off
    # (the body: 408); an idle kept-alive connection is closed after http_keepalive_seconds.
    http_header_timeout_seconds: float = 10.0
    http_body_timeout_seconds: float = 10.0
    http_keepalive_seconds: int = 5
    # Past this many open connections or requests in progress, new requests get 503.
    http_max_connections: int = 1000
    # The largest request line plus headers (Slack's are under 2 KiB); past it, 400.
    http_max_header_bytes: int = 16384
    # At LOG_LEVEL=DEBUG, Slack's libraries log whole request and response bodies (incident
    # titles, notes, private channels' messages): they stay at INFO unless this is true.
    log_slack_bodies: bool = False

    @field_validator("ops_host", "ops_port", mode="before")
    @classmethod
    def _empty_ops(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("ops_port")
    @classmethod
    def _ops_port(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return None
        if not 0 <= value <= 65535:
            raise ValueError("must be a TCP port number")
        if value != 0 and value == info.data.get("port"):
            raise ValueError("must differ from PORT")
        return value

    @field_validator(
        "http_header_timeout_seconds", "http_body_timeout_seconds", "http_keepalive_seconds"
    )
    @classmethod
    def _http_timeout(cls, value: float) -> float:
        if not 0 < value <= 300:
            raise ValueError("must be more than 0 and at most 300 seconds")
        return value

    @field_validator("slack_rate_limit_scale")
    @classmethod
    def _rate_limit_scale(cls, value: float) -> float:
        if not 0 <= value <= 100:
            raise ValueError("must be between 0 and 100")
        return value

    @field_validator("http_max_connections")
    @classmethod
    def _max_connections(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("http_max_header_bytes")
    @classmethod
    def _max_header_bytes(cls, value: int) -> int:
        if not 1024 <= value <= 1024 * 1024:
            raise ValueError("must be between 1024 and 1048576 bytes")
        return value

    @property
    def ops_separate(self) -> bool:
        """Whether /metrics and the detailed /health have a port of their own."""
        return self.ops_port is not None

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
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        url = normalize_database_url(value)
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+")):
            raise ValueError("only SQLite and PostgreSQL are supported")
        try:
            port = make_url(url).port
        except (ArgumentError, ValueError) as exc:  # e.g. a port that is not a number
            raise ValueError(f"not a database URL: {exc}") from None
        if port is not None and not 1 <= port <= 65535:
            raise ValueError(f"port {port} is not between 1 and 65535")
        return url

    @field_validator("port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 0 <= value <= 65535:
            raise ValueError(f"{value} is not between 0 and 65535")
        return value

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

    @field_validator("worker_heartbeat_seconds")
    @classmethod
    def _heartbeat(cls, value: float) -> float:
        if not 0.1 <= value <= 60:
            raise ValueError("must be between 0.1 and 60 seconds")
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
        values += [v for v in (self.slack_app_token,) if v] + self.alert_secrets
        values += self.tracker_secrets() + self.paging_secrets() + self.source_secrets()
        password = make_url(self.database_url).password
        if password:
            values.append(str(password))
        return values


def load_settings(kind: type[Settings] = Settings, **overrides: object) -> Settings:
    """Read settings (of `kind`, a subclass for some commands), raising ConfigError with one
    line per the first problem found."""
    try:
        return kind(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "?"
        env = field.upper()
        hint = HINTS.get(field, "see the configuration table in README.md")
        if error["type"] == "missing":
            raise ConfigError(f"{env} is not set: set it to {hint}.") from None
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"].endswith("_parsing"):  # PORT=abc: say what was given
            reason = f"got {error['input']!r}; {reason[:1].lower()}{reason[1:]}"
        raise ConfigError(f"{env} is invalid ({reason}): set it to {hint}.") from None
