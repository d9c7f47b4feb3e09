"""The dashboard's pages (frame; issue 18)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from app.context import BotContext


def routes(bot: BotContext) -> list[BaseRoute]:
    """/dashboard, /dashboard/report, /dashboard/incidents/{public_id}."""
    return []
