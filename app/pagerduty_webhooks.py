"""POST /webhooks/pagerduty: PagerDuty's v3 webhooks (an incident acknowledged or resolved
there), handed to `services.pagerduty_news`, which verifies the signature and applies them.

404 while PAGERDUTY_WEBHOOK_SECRET is unset; 401 for a bad signature (PagerDuty drops a 4xx
delivery without retrying); 503 when the database is unavailable (PagerDuty retries a 5xx for
up to 48 hours, so the acknowledgement is not lost).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app.context import BotContext
from app.services.pagerduty_news import receive_webhook

log = logging.getLogger(__name__)


def routes(bot: BotContext) -> list[tuple[str, Callable[[Request], Awaitable[Response]]]]:
    """(path, endpoint) pairs, all POST."""

    async def endpoint(request: Request) -> Response:
        raw = await request.body()  # the raw bytes: the signature is over them, unparsed
        try:
            answer = await receive_webhook(bot, request.headers, raw)
        except (SQLAlchemyError, OSError, TimeoutError):
            log.warning("PagerDuty webhook not applied: the database is unavailable", exc_info=True)
            return PlainTextResponse("database unavailable, retry later", status_code=503)
        return PlainTextResponse(answer.text, status_code=answer.status)

    return [("/webhooks/pagerduty", endpoint)]
