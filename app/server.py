"""Running the bot: HTTP (uvicorn) or Socket Mode, with a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Iterator

import uvicorn
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from app import wiring
from app.config.settings import Settings
from app.context import BotContext
from app.domain.policy import Policy
from app.domain.runbooks import Runbooks
from app.slack import observe
from app.slack.payloads import MalformedPayload, check_parsed
from app.web import create_web_app

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn, but SIGTERM/SIGINT end `serve` normally (exit 0) instead of re-raising the
    signal after shutdown, so orchestrators see a clean stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        stops = (signal.SIGTERM, signal.SIGINT)
        for sig in stops:
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in stops:
                loop.remove_signal_handler(sig)


class ObservedSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode adapter, plus the per-request log line and latency sample that the
    HTTP path records in app/web.py."""

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.perf_counter()
        payload = req.payload if isinstance(req.payload, dict) else {}
        try:
            check_parsed(payload)
        except MalformedPayload as exc:
            # As over HTTP: refused before Bolt indexes into it. Acked, so Slack does not
            # redeliver a body that will never parse.
            log.warning("refused a malformed Slack request over Socket Mode: %s", exc)
            observe.record("malformed", 0.0, 400)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        try:
            await super().handle(client, req)
        finally:
            observe.record(observe.kind_of(payload), time.perf_counter() - started)


def socket_mode_handler(bot: BotContext, bolt: AsyncApp) -> ObservedSocketModeHandler | None:
    """The Socket Mode connection when SLACK_APP_TOKEN is set; None means HTTP mode."""
    if not bot.settings.socket_mode:
        return None
    return ObservedSocketModeHandler(
        bolt,
        bot.settings.slack_app_token,
        logger=logging.getLogger("app.slack.socket_mode"),
        web_client=bot.slack,
    )


async def serve(settings: Settings, policy: Policy, runbooks: Runbooks | None = None) -> None:
    bot = wiring.build(settings, policy, runbooks=runbooks)
    web = create_web_app(bot)
    config = uvicorn.Config(
        web,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=25,
    )
    server = _Server(config)
    # Socket Mode: Slack's requests arrive over a websocket; HTTP still serves /health,
    # /metrics and the alert webhooks.
    socket_handler = socket_mode_handler(bot, web.state.bolt)
    if socket_handler is not None:
        await socket_handler.connect_async()
        log.info("connected to Slack in Socket Mode")
    try:
        log.info("serving on %s:%s", settings.host, settings.port)
        await server.serve()
    finally:
        if socket_handler is not None:
            await socket_handler.close_async()
        await bot.close()
