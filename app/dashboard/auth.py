"""Who is looking at the dashboard: Sign in with Slack (OpenID Connect) or the static token,
kept in a signed session cookie (frame; issue 18)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.routing import BaseRoute

from app.context import BotContext


@dataclass(frozen=True)
class Viewer:
    """A signed-in person (`user_id` set: Sign in with Slack), or the static token's holder
    (`user_id` None: public incidents only)."""

    user_id: str | None
    name: str
    team_id: str | None = None

    @property
    def via_token(self) -> bool:
        return self.user_id is None


def viewer_of(bot: BotContext, request: Request) -> Viewer | None:
    """The viewer of a request's session cookie, or None (not signed in, or expired)."""
    return None


def routes(bot: BotContext) -> list[BaseRoute]:
    """/dashboard/login, /dashboard/auth/callback, /dashboard/logout."""
    return []
