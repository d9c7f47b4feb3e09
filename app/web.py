"""The HTTP edge: Slack's requests, health, and a cap on what anyone may send."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import __version__
from app.scheduler import StepScheduler
from app.services import setup
from app.services.context import BotContext
from app.slack.bolt_app import build_bolt_app
from app.slack.payloads import MalformedPayload, check_body
from app.store.db import ping

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
HEALTH_DB_TIMEOUT = 2.0


class BodyLimit:
    """Refuse request bodies over a limit before anything parses them (413)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _too_large(scope, receive, send)


class _TooLarge(Exception):
    pass


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    response = PlainTextResponse("request body too large", status_code=413)
    await response(scope, receive, send)


def _signed(verifier: SignatureVerifier, body: bytes, request: Request) -> bool:
    """slack-sdk's check, except that a non-numeric timestamp is a bad signature, not a crash."""
    try:
        return verifier.is_valid_request(body, dict(request.headers))
    except ValueError:
        return False


def create_web_app(bot: BotContext) -> Starlette:
    bolt = build_bolt_app(bot)
    handler = AsyncSlackRequestHandler(bolt)

    verifier = SignatureVerifier(bot.settings.slack_signing_secret)

    async def slack_events(request: Request) -> Response:
        body = await request.body()  # Starlette caches it for Bolt's adapter
        if not _signed(verifier, body, request):
            return PlainTextResponse("invalid request signature", status_code=401)
        try:
            check_body(body, request.headers.get("content-type", ""))
        except MalformedPayload as exc:
            log.warning("refused a malformed Slack request: %s", exc)
            return PlainTextResponse(f"malformed request: {exc}", status_code=400)
        return await handler.handle(request)

    async def health(request: Request) -> Response:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(HEALTH_DB_TIMEOUT):
                await ping(bot.engine)
            database = {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
        except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
            database = {"ok": False, "error": type(exc).__name__}
        healthy = database["ok"]
        return JSONResponse(
            {
                "status": "ok" if healthy else "unhealthy",
                "version": __version__,
                "checks": {"database": database},
            },
            status_code=200 if healthy else 503,
        )

    scheduler = StepScheduler(bot, bot.settings.escalation_tick_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await bot.open_http_session()
        try:
            await bot.incident_channels.load()
        except Exception:  # noqa: BLE001 - /health reports the database; the first event retries
            log.exception("could not load the incident channels at start")
        # Learn the bot's own user id now rather than on the first declare's critical path.
        try:
            await bot.bot_user_id()
        except Exception as exc:  # noqa: BLE001 - Slack may be down at start; ask again later
            log.warning("auth.test at start-up failed (%s); will retry when needed", exc)
        scheduler.start()
        if not scheduler.running:
            # Without a scheduler (its first tick does it), setups a previous process left half
            # done (killed mid-declare) are finished now.
            bot.tasks.spawn(setup.resume_interrupted(bot), name="resume interrupted setups")
        try:
            yield
        finally:
            # SIGTERM: uvicorn stops accepting; the tick in progress ends, then we finish what
            # was acked before exiting.
            await scheduler.stop()
            await bot.tasks.drain()
            await bot.close_http_session()

    app = Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/api/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.bolt = bolt
    app.state.scheduler = scheduler
    app.add_middleware(BodyLimit)
    return app
