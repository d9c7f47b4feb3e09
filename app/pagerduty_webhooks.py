"""The pagerduty webhooks edge. (Being written: every path answers 404 until it is.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app.context import BotContext


def routes(bot: BotContext) -> list[tuple[str, Callable[[Request], Awaitable[Response]]]]:
    """(path, endpoint) pairs, all POST."""

    async def not_yet(request: Request) -> Response:
        return PlainTextResponse("Not Found", status_code=404)

    return [("/webhooks/pagerduty", not_yet)]
