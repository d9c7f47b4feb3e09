"""Running the bot: HTTP (uvicorn) or Socket Mode, with a clean stop on SIGTERM.

The HTTP server cuts off slow clients (HTTP_HEADER_TIMEOUT_SECONDS for a request's headers,
HTTP_BODY_TIMEOUT_SECONDS for its body in app.web, HTTP_KEEPALIVE_SECONDS idle) and caps what is
served at once (HTTP_MAX_CONNECTIONS, then 503) and the size of headers (HTTP_MAX_HEADER_BYTES).
With OPS_PORT set, a second server on OPS_HOST:OPS_PORT serves /metrics and the detailed
/health; the bot's lifespan runs once, in the public server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Iterator
from typing import Literal

import h11
import uvicorn
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

from app import wiring
from app.config.settings import Settings
from app.context import BotContext
from app.domain.policy import Policy
from app.domain.runbooks import Runbooks
from app.slack import observe
from app.slack.payloads import MalformedPayload, check_parsed
from app.web import create_ops_app, create_web_app

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


class _OpsServer(uvicorn.Server):
    """The ops port's server: stopped by `run_http` when the public one stops, so signals are
    left to the public server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _H11HeaderTimeout(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for each request's headers.

    uvicorn has none: a connection that sends nothing, or a header a byte at a time, stays
    open for as long as its client likes (its keep-alive timeout runs only between requests).
    The deadline starts when the connection opens and again when a response is finished; if the
    next request's headers are not all in by then, the connection is closed.
    """

    header_timeout = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        self._cancel_header_timer()
        if not self.transport.is_closing():
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_due)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_due(self) -> None:
        self._header_timer = None
        between_requests = self.cycle is None or self.cycle.response_complete
        waiting = between_requests and self.conn.their_state is h11.IDLE
        if waiting and not self.transport.is_closing():
            self.transport.close()


def _h11_protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """The protocol class with this header deadline. Always h11, also where httptools is
    installed, so that HTTP_MAX_HEADER_BYTES (h11's limit) applies."""
    return type("H11HeaderTimeout", (_H11HeaderTimeout,), {"header_timeout": header_timeout})


def http_config(
    app: Starlette,
    settings: Settings,
    host: str,
    port: int,
    *,
    lifespan: Literal["on", "off"] = "on",
) -> uvicorn.Config:
    """uvicorn's configuration for one of the bot's HTTP servers."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan=lifespan,
        timeout_graceful_shutdown=25,
        http=_h11_protocol(settings.http_header_timeout_seconds),
        timeout_keep_alive=settings.http_keepalive_seconds,
        limit_concurrency=settings.http_max_connections,
        h11_max_incomplete_event_size=settings.http_max_header_bytes,
    )


def http_servers(bot: BotContext, web: Starlette) -> tuple[uvicorn.Server, uvicorn.Server | None]:
    """The public server for `web` (create_web_app) and, with OPS_PORT set, the ops server."""
    settings = bot.settings
    public = _Server(http_config(web, settings, settings.host, settings.port))
    if settings.ops_port is None:
        return public, None
    ops_host = settings.ops_host or settings.host
    ops = _OpsServer(
        http_config(create_ops_app(bot), settings, ops_host, settings.ops_port, lifespan="off")
    )
    return public, ops


async def run_http(public: uvicorn.Server, ops: uvicorn.Server | None = None) -> None:
    """Serve until the public server stops (SIGTERM, or `should_exit`); the ops server, started
    first, stops after it, so /health keeps answering while acknowledged work is finished."""
    if ops is None:
        await public.serve()
        return
    ops_task = asyncio.create_task(ops.serve(), name="ops server")
    try:
        while not ops.started:
            if ops_task.done():
                ops_task.result()  # it could not start: its error, not a silent hang
                raise RuntimeError("the ops server stopped before it started")
            await asyncio.sleep(0.01)
        await public.serve()
    finally:
        ops.should_exit = True
        await ops_task


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
    public, ops = http_servers(bot, web)
    # Socket Mode: Slack's requests arrive over a websocket; HTTP still serves /health,
    # /metrics and the alert webhooks.
    socket_handler = socket_mode_handler(bot, web.state.bolt)
    if socket_handler is not None:
        await socket_handler.connect_async()
        log.info("connected to Slack in Socket Mode")
    try:
        log.info("serving on %s:%s", settings.host, settings.port)
        if ops is not None:
            log.info(
                "serving /metrics and /health on %s:%s",
                ops.config.host,
                ops.config.port,
            )
        await run_http(public, ops)
    finally:
        if socket_handler is not None:
            await socket_handler.close_async()
        await bot.close()
