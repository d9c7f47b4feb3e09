"""The issue trackers' settings: where each tracker is and the bot's credentials there.

Only credentials live here; which tracker incidents use, and where in it, is the policy's
`tickets:` section. A tracker whose credentials are unset is not configured.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings

TRACKER_HINTS: dict[str, str] = {
    "jira_url": "your Jira's address, e.g. https://acme.atlassian.net (Cloud) or "
    "https://jira.example.com (Server/Data Center)",
    "jira_email": "the Atlassian account e-mail the API token belongs to (Jira Cloud)",
    "jira_api_token": "an API token from id.atlassian.com (Jira Cloud), with JIRA_EMAIL",
    "jira_pat": "a personal access token (Jira Server/Data Center)",
    "jira_webhook_secret": "the secret of the Jira webhook that tells the bot of closed tickets",
    "github_token": "a fine-grained token with Issues read/write on the repository",
    "github_app_id": "the GitHub App's numeric id, with GITHUB_APP_PRIVATE_KEY_FILE",
    "github_app_private_key_file": "the path of the GitHub App's private key (.pem)",
    "github_app_installation_id": "the numeric id of the App's installation on your account",
    "github_api_url": "https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise",
    "github_webhook_secret": "the secret of the GitHub webhook (issues events)",
    "linear_api_key": "a Linear personal API key (Settings, Security & access)",
    "linear_api_url": "https://api.linear.app/graphql",
    "linear_webhook_secret": "the signing secret of the Linear webhook (issue events)",
    "ticket_poll_seconds": "seconds between looks at open action-item tickets, e.g. 300 "
    "(0: only webhooks)",
}


def _blank_as_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


class TrackerSettings(BaseSettings):
    """Mixed into `Settings`: the environment variables of the trackers."""

    jira_url: str | None = None
    jira_email: str | None = None
    jira_api_token: str | None = None
    jira_pat: str | None = None
    jira_webhook_secret: str | None = None
    github_token: str | None = None
    github_app_id: str | None = None
    github_app_private_key_file: Path | None = None
    github_app_installation_id: str | None = None
    github_api_url: str = "https://api.github.com"
    github_webhook_secret: str | None = None
    linear_api_key: str | None = None
    linear_api_url: str = "https://api.linear.app/graphql"
    linear_webhook_secret: str | None = None
    ticket_poll_seconds: float = 300.0

    @field_validator(
        "jira_url",
        "jira_email",
        "jira_api_token",
        "jira_pat",
        "jira_webhook_secret",
        "github_token",
        "github_app_id",
        "github_app_private_key_file",
        "github_app_installation_id",
        "github_webhook_secret",
        "linear_api_key",
        "linear_webhook_secret",
        mode="before",
    )
    @classmethod
    def _blank(cls, value: object) -> object:
        return _blank_as_none(value)

    @field_validator("jira_url", "github_api_url", "linear_api_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// for a local server)")
        return value.rstrip("/") if value else value

    @field_validator("github_app_private_key_file")
    @classmethod
    def _key_file(cls, value: Path | None) -> Path | None:
        if value is not None and not (value.is_file() and os.access(value, os.R_OK)):
            raise ValueError(f"{value} is not a readable file")
        return value

    @field_validator("ticket_poll_seconds")
    @classmethod
    def _poll(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must be 0 or more")
        return value

    @property
    def jira_configured(self) -> bool:
        return bool(self.jira_url and (self.jira_pat or (self.jira_email and self.jira_api_token)))

    @property
    def github_configured(self) -> bool:
        app = self.github_app_id and self.github_app_private_key_file
        return bool(self.github_token or (app and self.github_app_installation_id))

    @property
    def linear_configured(self) -> bool:
        return bool(self.linear_api_key)

    def tracker_secrets(self) -> list[str]:
        """Values never to log."""
        values = (
            self.jira_api_token,
            self.jira_pat,
            self.jira_webhook_secret,
            self.github_token,
            self.github_webhook_secret,
            self.linear_api_key,
            self.linear_webhook_secret,
        )
        return [v for v in values if v]
