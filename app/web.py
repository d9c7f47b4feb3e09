"""The HTTP edge: Slack's requests, alert webhooks, health, metrics, and caps on what anyone
may send and how slowly.

With OPS_PORT set, /metrics and the detailed /health are served by a second app on their own
port (`create_ops_app`, run by app.server); the public port's /health then says only "ok" or
"unhealthy", and it has no /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import dashboard, deploy_webhooks, metrics, pagerduty_webhooks, twilio_webhooks, webhooks
from app.context import BotContext
from app.scheduler import StepScheduler
from app.services import health, lookup, setup
from app.services.replays import ReplayGuard
from app.slack import observe
from app.slack.bolt_app import build_bolt_app
from app.slack.payloads import MalformedPayload, check_body

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


class BodyTimeout:
    """Refuse a request whose body has not arrived within `seconds` of its headers (408).

    uvicorn times out neither headers nor bodies (app.server adds the header timeout): a client
    that declares a body and sends it byte by byte, or never, would hold a connection and a
    task for as long as it likes. The body is read here, whole, before the app runs; BodyLimit,
    outside this, caps how much is read.
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        try:
            async with asyncio.timeout(self.seconds):
                while True:
                    message = await receive()
                    messages.append(message)
                    if message["type"] != "http.request" or not message.get("more_body", False):
                        break
        except TimeoutError:
            log.warning(
                "request body for %s not received within %gs; answered 408",
                scope.get("path", "?")[:64],
                self.seconds,
            )
            response = PlainTextResponse(
                "request body not received in time",
                status_code=408,
                headers={"connection": "close"},
            )
            await response(scope, receive, send)
            return
        pending = iter(messages)

        async def replay() -> Message:
            message = next(pending, None)
            return message if message is not None else await receive()

        await self.app(scope, replay, send)


def _signed(verifier: SignatureVerifier, body: bytes, request: Request) -> bool:
    """slack-sdk's check, except that a non-numeric timestamp is a bad signature, not a crash."""
    try:
        return verifier.is_valid_request(body, dict(request.headers))
    except ValueError:
        return False


def _bolt_request(request: Request, raw: bytes, parsed: dict[str, Any]) -> AsyncBoltRequest:
    """Bolt's request for a body app.slack.payloads has already parsed and checked.

    Bolt's own parser is not used: it reads any form body containing the word "payload" (a
    `/incident note payload queue stuck`, a channel named #payments-payload) as an interaction
    without a payload, i.e. `{}`, which no listener matches (404, and Slack's "dispatch_failed").
    Bolt still verifies the signature of the raw body.
    """
    bolt_request = AsyncBoltRequest(
        body="",
        query=request.query_params,  # type: ignore[arg-type]
        headers=request.headers,  # type: ignore[arg-type]
    )
    bolt_request.raw_body = raw.decode("utf-8")  # check_body made sure it is UTF-8
    bolt_request.body = parsed
    bolt_request.context = build_async_context(AsyncBoltContext(), parsed)
    return bolt_request


def _app_rate_limited(body: dict[str, Any]) -> Response:
    """Slack's notice that it dropped events for a minute (more than 30,000 an hour for the
    workspace). It has no event for Bolt to match, and a non-200 answer counts towards Slack
    disabling the event subscriptions: log it, count it, answer 200."""
    log.warning(
        "Slack rate-limited this app's events for team %s in the minute starting at %s; "
        "events of that minute were not delivered",
        _short(body.get("team_id")),
        _short(body.get("minute_rate_limited")),
    )
    metrics.slack_app_rate_limited()
    return Response(status_code=200)


def _short(value: Any) -> str:
    """A value from a request body, as at most 64 characters of a log line."""
    return str(value)[:64]


def create_web_app(bot: BotContext) -> Starlette:
    """The public app: Slack, the alert webhooks, /health, and /metrics unless OPS_PORT is set.

    It carries the bot's lifespan (the scheduler, the HTTP session): run it once per process.
    """
    bolt = build_bolt_app(bot)
    scheduler = StepScheduler(bot, bot.settings.escalation_tick_seconds)
    routes: list[BaseRoute] = [
        Route("/slack/events", slack_endpoint(bot, bolt, ReplayGuard(bot)), methods=["POST"]),
        Route("/webhooks/alerts/{source}", webhooks.alert_endpoint(bot), methods=["POST"]),
        Route("/webhooks/tickets/{provider}", webhooks.ticket_endpoint(bot), methods=["POST"]),
        *(
            Route(path, endpoint, methods=["POST"])
            for edge in (twilio_webhooks, pagerduty_webhooks, deploy_webhooks)
            for path, endpoint in edge.routes(bot)
        ),
    ]
    routes += dashboard.routes(bot)
    routes += _health_routes(bot, detailed=not bot.settings.ops_separate)
    app = Starlette(routes=routes, lifespan=lambda app: _lifespan(bot, scheduler))
    app.state.bolt = bolt
    app.state.scheduler = scheduler
    _add_limits(app, bot)
    return app


def create_ops_app(bot: BotContext) -> Starlette:
    """/metrics and the detailed /health, for OPS_HOST:OPS_PORT. No lifespan of its own: it
    runs beside `create_web_app`'s, which starts and stops the bot."""
    app = Starlette(routes=_health_routes(bot, detailed=True))
    _add_limits(app, bot)
    return app


def _add_limits(app: Starlette, bot: BotContext) -> None:
    # The last added runs first: the size cap applies while BodyTimeout reads.
    app.add_middleware(BodyTimeout, seconds=bot.settings.http_body_timeout_seconds)
    app.add_middleware(BodyLimit)


def _health_routes(bot: BotContext, *, detailed: bool) -> list[Route]:
    """/health and /api/health, and /metrics when `detailed`.

    The details (each check, the workspace and the bot's user id, the version; the open
    incidents by severity in /metrics) are for operators: on a public port, only the verdict.
    """

    async def health_check(request: Request) -> Response:
        status, body = await health.report(bot)
        if not detailed:
            body = {"status": body["status"]}
        return JSONResponse(body, status_code=status)

    async def metrics_endpoint(request: Request) -> Response:
        await _refresh_gauges(bot)
        return Response(metrics.render(), media_type=metrics.CONTENT_TYPE_LATEST)

    routes = [
        Route("/health", health_check, methods=["GET"]),
        Route("/api/health", health_check, methods=["GET"]),
    ]
    if detailed:
        routes.append(Route("/metrics", metrics_endpoint, methods=["GET"]))
    return routes


# Events API deliveries are not checked against replays by signature: every event that changes
# anything claims its event_id in the transaction that applies it (app.services.capture), so the
# same bytes again change nothing, as a retry does; and events (every message in every channel
# the bot is in) are most of the traffic, answered without touching the database.
_EVENTS_API = frozenset({"event_callback", "url_verification", "app_rate_limited"})


def slack_endpoint(
    bot: BotContext, bolt: AsyncApp, replays: ReplayGuard | None = None
) -> Callable[[Request], Awaitable[Response]]:
    """POST /slack/events: signature first, then the shape check, refusing exact replays, then
    Bolt."""
    verifier = SignatureVerifier(bot.settings.slack_signing_secret)
    guard = replays or ReplayGuard(bot)

    async def slack_events(request: Request) -> Response:
        raw = await request.body()
        if not _signed(verifier, raw, request):
            observe.record("unverified", 0.0, 401)  # an unsigned body never picks a label
            return PlainTextResponse("invalid request signature", status_code=401)
        try:
            body = check_body(raw, request.headers.get("content-type", ""))
        except MalformedPayload as exc:
            log.warning("refused a malformed Slack request: %s", exc)
            observe.record("malformed", 0.0, 400)
            return PlainTextResponse(f"malformed request: {exc}", status_code=400)
        if body.get("type") not in _EVENTS_API and not await guard.first_use(
            request.headers["x-slack-signature"], request.headers["x-slack-request-timestamp"]
        ):
            log.warning(
                "refused a replayed Slack request (%s, timestamp %s): its signature was used "
                "before",
                observe.kind_of(body),
                _short(request.headers["x-slack-request-timestamp"]),
            )
            observe.record("replayed", 0.0, 401)
            return PlainTextResponse("replayed request", status_code=401)
        started = time.perf_counter()
        kind = observe.kind_of(body)
        if body.get("type") == "app_rate_limited":
            response = _app_rate_limited(body)
        else:
            response = to_starlette_response(
                await bolt.async_dispatch(_bolt_request(request, raw, body))
            )
        observe.record(kind, time.perf_counter() - started, response.status_code)
        return response

    return slack_events


@contextlib.asynccontextmanager
async def _lifespan(bot: BotContext, scheduler: StepScheduler) -> AsyncIterator[None]:
    await bot.open_http_session()
    try:
        await bot.incident_channels.load()
    except Exception:  # noqa: BLE001 - /health reports the database; the first event retries
        log.exception("could not load the incident channels at start")
    # Check the token and learn the bot's own user id now, rather than on the first declare's
    # critical path; the health check reuses the answer.
    token = await bot.health.slack_token.check(bot)
    if not token["ok"]:
        log.warning("auth.test at start-up failed (%s); will retry when needed", token.get("error"))
    scheduler.start()
    if not scheduler.running:
        # Without a scheduler (its first tick does it), setups a previous process left half
        # done (killed mid-declare) are finished now.
        bot.tasks.spawn(setup.resume_interrupted(bot), name="resume interrupted setups")
    try:
        yield
    finally:
        # SIGTERM: uvicorn stops accepting; the tick in progress ends, then we finish what was
        # acked before exiting.
        await scheduler.stop()
        await bot.tasks.drain()
        await bot.close_http_session()


async def _refresh_gauges(bot: BotContext) -> None:
    """Gauges that describe shared state are read at scrape time, not kept in memory."""
    try:
        async with asyncio.timeout(HEALTH_DB_TIMEOUT):
            counts = await lookup.open_counts(bot)
    except Exception:  # noqa: BLE001 - /metrics still answers; the health check reports the DB
        log.warning("could not count open incidents for /metrics", exc_info=True)
    else:
        metrics.set_open(counts, bot.policy.severity_keys)
    heartbeat = bot.health.scheduler
    lag = heartbeat.lag(bot.clock.now()).total_seconds() if heartbeat else 0.0
    metrics.set_scheduler(heartbeat is not None, lag)
