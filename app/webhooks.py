"""POST /webhooks/alerts/{source}: monitoring alerts in, answered as soon as they are saved;
POST /webhooks/tickets/{provider}: trackers telling of tickets closed there (at the end).

A source exists (otherwise 404) when a token applies to it, ALERT_WEBHOOK_TOKEN_<SOURCE> or else
ALERT_WEBHOOK_TOKEN, or, for Sentry, when SENTRY_CLIENT_SECRET is set. The token is sent as
`Authorization: Bearer <token>`, or as `?token=<token>` for senders that cannot set headers; it is
compared in constant time. With SENTRY_CLIENT_SECRET, a Sentry body must also carry a valid
`Sentry-Hook-Signature` (hex HMAC-SHA256 of the raw body with the integration's client secret),
or it gets 401 whatever the token.

The answer: 400 with the reason when the body cannot be read at all (nothing changed); 200 with
one result per alert; 207 when some alerts of the batch failed (each failed result carries its
`error`, the others were handled); 503 when the database is unavailable (the alerts answered
before it went away were saved and are followed up; a retry finds them again).
"""

from __future__ import annotations

import hashlib
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
from app.services.alerts import IntakeUnavailable, receive
from app.services.ticket_news import receive_webhook

log = logging.getLogger(__name__)


def authorized(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        given = request.query_params.get("token", "")
    return hmac.compare_digest(given.strip().encode(), token.encode())


def sentry_signed(raw: bytes, signature: str, secret: str) -> bool:
    """Sentry-Hook-Signature: the hex HMAC-SHA256 of the body with the client secret."""
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature.strip().lower().encode(), expected.encode())


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
        except RecursionError:
            raise PayloadError("the body is nested too deeply") from None
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
        settings = bot.settings
        if not any(settings.alert_source_enabled(known) for known in ALERT_SOURCES):
            return PlainTextResponse("Not Found", status_code=404)
        source = request.path_params["source"]
        if source not in ALERT_SOURCES:
            return JSONResponse(
                {"error": f"unknown alert source (known: {', '.join(ALERT_SOURCES)})"},
                status_code=404,
            )
        if not settings.alert_source_enabled(source):
            return PlainTextResponse("Not Found", status_code=404)
        token = settings.alert_token(source)
        if token is not None and not authorized(request, token):
            return JSONResponse(
                {"error": "missing or wrong token: send Authorization: Bearer <token>"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        raw = await request.body()
        secret = settings.sentry_client_secret if source == "sentry" else None
        if secret is not None and not sentry_signed(
            raw, request.headers.get("sentry-hook-signature", ""), secret
        ):
            log.warning("refused a Sentry body without a valid Sentry-Hook-Signature")
            return JSONResponse(
                {"error": "missing or wrong Sentry-Hook-Signature"}, status_code=401
            )
        try:
            payload = decode(
                raw,
                request.headers.get("content-type", ""),
                dict(request.query_params),
                source,
            )
            entries = parse(source, payload, dict(request.headers))
        except PayloadError as exc:
            log.warning("refused a %s alert payload: %s", source, exc, extra={"source": source})
            return JSONResponse({"error": str(exc)}, status_code=400)
        try:
            intake = await receive(bot, entries)
        except (SQLAlchemyError, OSError, TimeoutError, IntakeUnavailable):
            log.exception("could not save %s alerts", source, extra={"source": source})
            return JSONResponse(
                {"error": "the database is unavailable; nothing was saved, retry later"},
                status_code=503,
            )
        results = [outcome.as_dict() for outcome in intake.outcomes]
        if intake.unavailable is not None:
            return JSONResponse({"error": intake.unavailable, "results": results}, status_code=503)
        return JSONResponse({"results": results}, status_code=207 if intake.failed else 200)

    return endpoint


def ticket_endpoint(bot: BotContext) -> Callable[[Request], Awaitable[Response]]:
    """POST /webhooks/tickets/{provider}: a tracker telling of a ticket closed there (an action
    item's ticket closed marks the item done). 404 unless that tracker's webhook secret is set;
    401 for a delivery whose signature does not verify (nothing is changed)."""

    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            answer = await receive_webhook(
                bot, request.path_params["provider"], dict(request.headers), raw
            )
        except SQLAlchemyError:
            log.warning("ticket webhook refused: the database is unavailable", exc_info=True)
            return PlainTextResponse("database unavailable, retry later", status_code=503)
        return PlainTextResponse(answer.text, status_code=answer.status)

    return endpoint
