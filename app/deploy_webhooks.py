"""POST /webhooks/deployments/vercel and /webhooks/deployments/github: deployments told by
Vercel and GitHub, handed to `services.deployment_news`, which verifies the signature and
stores them (404 while that source's secret is unset, 401 for a bad signature, 503 when the
database is unavailable: both senders redeliver a failed delivery).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app.context import BotContext
from app.services.deployment_news import receive_webhook
from app.services.deployments import SOURCES

log = logging.getLogger(__name__)


def routes(bot: BotContext) -> list[tuple[str, Callable[[Request], Awaitable[Response]]]]:
    """(path, endpoint) pairs, all POST."""

    def endpoint_for(source: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()  # the raw bytes: the signature is over them
            try:
                answer = await receive_webhook(bot, source, request.headers, raw)
            except (SQLAlchemyError, OSError, TimeoutError):
                log.warning("%s deployment not stored: database unavailable", source, exc_info=True)
                return PlainTextResponse("database unavailable, retry later", status_code=503)
            return PlainTextResponse(answer.text, status_code=answer.status)

        return endpoint

    return [(f"/webhooks/deployments/{source}", endpoint_for(source)) for source in SOURCES]
