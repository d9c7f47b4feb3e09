"""Settings of the deployment sources: Vercel's deployment webhooks (signed with the webhook's
secret); GitHub's `deployment` / `deployment_status` events reuse GITHUB_WEBHOOK_SECRET.

A source whose secret is unset is off: its /webhooks/deployments/<source> answers 404.
"""

from __future__ import annotations

from pydantic import field_validator
from pydantic_settings import BaseSettings

SOURCE_HINTS: dict[str, str] = {
    "vercel_webhook_secret": "the secret Vercel shows once when you create the webhook "
    "(Team Settings > Webhooks), or unset it",
}


class SourceSettings(BaseSettings):
    """Mixed into `Settings`: the environment variables of the deployment sources."""

    vercel_webhook_secret: str | None = None

    @field_validator("vercel_webhook_secret", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def source_secrets(self) -> list[str]:
        """Values never logged."""
        return [v for v in (self.vercel_webhook_secret,) if v]
