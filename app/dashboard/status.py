"""The public status page (frame; issue 18)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from app.context import BotContext


def routes(bot: BotContext) -> list[BaseRoute]:
    """/status (404 unless STATUS_PAGE is true)."""
    return []
