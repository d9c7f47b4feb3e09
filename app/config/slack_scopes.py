"""The bot token scopes the bot needs: the list manifest.yml requests, shipped in the package so
`incident-bot check` can name the missing ones (tests/test_cli_check.py keeps the two equal)."""

from __future__ import annotations

BOT_SCOPES: tuple[str, ...] = (
    "commands",
    "chat:write",
    "channels:manage",
    "groups:write",
    "channels:join",
    "channels:read",
    "groups:read",
    "pins:write",
    "bookmarks:write",
    "users:read",
    "users:read.email",
    "usergroups:read",
    "reactions:read",
    "reactions:write",
    "channels:history",
    "groups:history",
    "im:write",
    "im:history",
    "files:write",
    "files:read",
)


def missing_scopes(granted: str) -> list[str]:
    """The needed scopes absent from Slack's `x-oauth-scopes` header (comma-separated)."""
    have = {scope.strip() for scope in granted.split(",") if scope.strip()}
    return [scope for scope in BOT_SCOPES if scope not in have]
