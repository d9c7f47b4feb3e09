"""Settings of the pages beyond Slack: SMTP for e-mail, Twilio for SMS and voice, PagerDuty.

A channel whose settings are unset is off: a level that names it pages the others, and
`incident-bot check` says which. Which level uses which channel is the policy's.
"""

from __future__ import annotations

from pydantic import field_validator
from pydantic_settings import BaseSettings

PAGING_HINTS: dict[str, str] = {
    "public_url": "the address Twilio and PagerDuty reach the bot at, e.g. "
    "https://incident-bot.example.com",
    "smtp_host": "your mail server, e.g. smtp.example.com",
    "smtp_port": "587 (STARTTLS), 465 (TLS) or 25",
    "smtp_username": "the SMTP login, or unset it",
    "smtp_password": "the SMTP password, or unset it",
    "smtp_from": "the sender address of pages, e.g. incident-bot@example.com",
    "smtp_security": "starttls, tls or none",
    "twilio_account_sid": "your Twilio Account SID (AC…)",
    "twilio_auth_token": "your Twilio Auth Token",
    "twilio_from_number": "a Twilio number in E.164, e.g. +15551234567",
    "twilio_api_url": "https://api.twilio.com",
    "pagerduty_routing_key": "the Integration Key of a PagerDuty service's Events API v2 "
    "integration",
    "pagerduty_events_url": "https://events.pagerduty.com",
    "pagerduty_webhook_secret": "the signing secret of the PagerDuty v3 webhook subscription",
}


class PagingSettings(BaseSettings):
    """Mixed into `Settings`: the environment variables of the pages beyond Slack."""

    public_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None
    smtp_security: str = "starttls"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_api_url: str = "https://api.twilio.com"
    pagerduty_routing_key: str | None = None
    pagerduty_events_url: str = "https://events.pagerduty.com"
    pagerduty_webhook_secret: str | None = None

    @field_validator(
        "public_url",
        "smtp_host",
        "smtp_username",
        "smtp_password",
        "smtp_from",
        "twilio_account_sid",
        "twilio_auth_token",
        "twilio_from_number",
        "pagerduty_routing_key",
        "pagerduty_webhook_secret",
        mode="before",
    )
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("public_url", "twilio_api_url", "pagerduty_events_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// for a local server)")
        return value.rstrip("/") if value else value

    @field_validator("smtp_security")
    @classmethod
    def _security(cls, value: str) -> str:
        if value.lower() not in ("starttls", "tls", "none"):
            raise ValueError("must be starttls, tls or none")
        return value.lower()

    @property
    def email_configured(self) -> bool:
        return bool(self.smtp_host and self.smtp_from)

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number)

    @property
    def pagerduty_configured(self) -> bool:
        return bool(self.pagerduty_routing_key)

    def paging_secrets(self) -> list[str]:
        values = (
            self.smtp_password,
            self.twilio_auth_token,
            self.pagerduty_routing_key,
            self.pagerduty_webhook_secret,
        )
        return [v for v in values if v]
