"""POST /webhooks/alerts/{source}: monitoring alerts in, answered as soon as they are saved.

Disabled (404) unless ALERT_WEBHOOK_TOKEN is set. The token is sent as `Authorization: Bearer
<token>`, or as `?token=<token>` for senders that cannot set headers; either way it is compared
in constant time. A payload that cannot be read gets 400 with the reason and changes nothing.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from app.context import BotContext
from app.domain.alerts import PayloadError, parse
from app.domain.policy import ALERT_SOURCES
from app.services.alerts import IntakeUnavailable, receive, run_follow_ups

log = logging.getLogger(__name__)


def authorized(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        given = request.query_params.get("token", "")
    return hmac.compare_digest(given.strip().encode(), token.encode())


def decode(raw: bytes, content_type: str, query: dict[str, str], source: str) -> Any:
    """The body as data: JSON, or form fields; UptimeRobot may also send its variables as a
    query string, which is merged in."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("the body is not UTF-8 text") from None
    payload: Any
    if content_type.startswith("application/x-www-form-urlencoded"):
        payload = {key: values[0] for key, values in parse_qs(text).items()}
    elif text.strip():
        try:
            payload = json.loads(text)
        except ValueError as exc:
            raise PayloadError(f"the body is not valid JSON ({exc})") from None
    else:
        payload = {}
    if source == "uptimerobot" and isinstance(payload, dict):
        payload = {**{k: v for k, v in query.items() if k != "token"}, **payload}
    if payload == {} and not text.strip() and source != "uptimerobot":
        raise PayloadError("the body is empty")
    return payload


def alert_endpoint(bot: BotContext) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        token = bot.settings.alert_webhook_token
        if token is None:
            return PlainTextResponse("Not Found", status_code=404)
        source = request.path_params["source"]
        if source not in ALERT_SOURCES:
            return JSONResponse(
                {"error": f"unknown alert source (known: {', '.join(ALERT_SOURCES)})"},
                status_code=404,
            )
        if not authorized(request, token):
            return JSONResponse(
                {"error": "missing or wrong token: send Authorization: Bearer <token>"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        raw = await request.body()
        try:
            payload = decode(
                raw,
                request.headers.get("content-type", ""),
                dict(request.query_params),
                source,
            )
            alerts = parse(source, payload, dict(request.headers))
        except PayloadError as exc:
            log.warning("refused a %s alert payload: %s", source, exc, extra={"source": source})
            return JSONResponse({"error": str(exc)}, status_code=400)
        try:
            intake = await receive(bot, alerts)
        except IntakeUnavailable as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        except (SQLAlchemyError, OSError, TimeoutError):
            log.exception("could not save %s alerts", source, extra={"source": source})
            return JSONResponse(
                {"error": "the database is unavailable; nothing was saved, retry later"},
                status_code=503,
            )
        if intake.follow_ups:
            bot.tasks.spawn(run_follow_ups(intake), name=f"{source} alert follow-ups")
        return JSONResponse({"results": [outcome.as_dict() for outcome in intake.outcomes]})

    return endpoint
