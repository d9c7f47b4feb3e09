"""Settings of the bot's own web pages: the dashboard (`/dashboard`, behind Sign in with Slack
or a static token), the public status page (`/status`) and its optional Atlassian Statuspage
sync.

Unset, the dashboard answers 404 and says which settings it needs; the status page is off
unless STATUS_PAGE is true.
"""

from __future__ import annotations

from pydantic import field_validator
from pydantic_settings import BaseSettings

WEB_HINTS: dict[str, str] = {
    "slack_client_id": "the app's Client ID (Basic Information, App Credentials)",
    "slack_client_secret": "the app's Client Secret (Basic Information, App Credentials)",
    "slack_oidc_url": "https://slack.com/openid/connect/authorize",
    "dashboard_token": "a long random string (e.g. `openssl rand -hex 32`), or unset it",
    "dashboard_session_secret": "a long random string that signs dashboard sessions",
    "dashboard_session_hours": "how long a dashboard sign-in lasts, e.g. 12",
    "status_page": "true to serve the public status page at /status",
    "statuspage_api_key": "an Atlassian Statuspage API key (your profile, API info)",
    "statuspage_page_id": "the Statuspage page id (the page's URL, manage.statuspage.io/pages/…)",
    "statuspage_api_url": "https://api.statuspage.io/v1",
}


class WebSettings(BaseSettings):
    """Mixed into `Settings`: the environment variables of the dashboard and status page."""

    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    # Where the browser signs in; unset: next to SLACK_API_URL (https://slack.com/openid/...).
    slack_oidc_url: str | None = None
    dashboard_token: str | None = None
    # Signs the dashboard's session cookies; unset: derived from SLACK_SIGNING_SECRET.
    dashboard_session_secret: str | None = None
    dashboard_session_hours: float = 12.0
    status_page: bool = False
    statuspage_api_key: str | None = None
    statuspage_page_id: str | None = None
    statuspage_api_url: str = "https://api.statuspage.io/v1"

    @field_validator(
        "slack_client_id",
        "slack_client_secret",
        "slack_oidc_url",
        "dashboard_token",
        "dashboard_session_secret",
        "statuspage_api_key",
        "statuspage_page_id",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("status_page", mode="before")
    @classmethod
    def _blank_is_off(cls, value: object) -> object:
        return False if isinstance(value, str) and not value.strip() else value

    @field_validator("dashboard_token", "dashboard_session_secret")
    @classmethod
    def _long_token(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 16:
            raise ValueError("use at least 16 characters (e.g. `openssl rand -hex 32`)")
        return value

    @field_validator("dashboard_session_hours")
    @classmethod
    def _hours(cls, value: float) -> float:
        if not 0 < value <= 24 * 30:
            raise ValueError("between 0 and 720 hours")
        return value

    @property
    def sign_in_with_slack(self) -> bool:
        """Both halves of the app's credentials are set (and PUBLIC_URL, for the redirect)."""
        public_url = getattr(self, "public_url", None)
        return bool(self.slack_client_id and self.slack_client_secret and public_url)

    @property
    def dashboard_enabled(self) -> bool:
        return self.sign_in_with_slack or self.dashboard_token is not None

    @property
    def statuspage_sync(self) -> bool:
        return bool(self.statuspage_api_key and self.statuspage_page_id)
