"""Running the bot: HTTP (uvicorn) or Socket Mode, with a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn

from app.policy import Policy
from app.services.context import BotContext
from app.settings import Settings
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


async def serve(settings: Settings, policy: Policy) -> None:
    bot = BotContext.create(settings, policy)
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
    socket_handler = None
    if settings.socket_mode:
        # Socket Mode: Slack's requests arrive over a websocket; HTTP still serves /health.
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

        bolt = web.state.bolt
        socket_handler = AsyncSocketModeHandler(bolt, settings.slack_app_token)
        await socket_handler.connect_async()
        log.info("connected to Slack in Socket Mode")
    try:
        log.info("serving on %s:%s", settings.host, settings.port)
        await server.serve()
    finally:
        if socket_handler is not None:
            await socket_handler.close_async()
        await bot.close()
