"""What every service needs, built once per process and passed explicitly."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app import metrics
from app.clock import Clock, SystemClock
from app.config.policy import Policy
from app.config.settings import Settings
from app.health import Health
from app.runbooks import Runbooks, load_runbooks
from app.services.incident_channels import IncidentChannels
from app.services.slack_client import InstrumentedWebClient, RateLimitObserver
from app.services.tasks import BackgroundTasks
from app.store.db import make_engine, make_sessionmaker


def make_slack_client(settings: Settings) -> AsyncWebClient:
    """slack-sdk's client with retries: a 429 waits for Retry-After, a 5xx is tried again.

    Calls, errors and 429s are counted for /metrics.
    """
    client = InstrumentedWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        logger=logging.getLogger("app.slack.client"),
    )
    client.retry_handlers = [
        RateLimitObserver(),  # first: it sees every attempt and never claims the retry
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=5),
        AsyncServerErrorRetryHandler(max_retry_count=3),
    ]
    return client


@dataclass
class BotContext:
    settings: Settings
    policy: Policy
    engine: AsyncEngine
    sessions: async_sessionmaker
    slack: AsyncWebClient
    clock: Clock = field(default_factory=SystemClock)
    tasks: BackgroundTasks = field(default_factory=BackgroundTasks)
    # Which channels are incident channels, kept in memory so events elsewhere cost nothing.
    incident_channels: IncidentChannels = field(init=False)
    runbooks: Runbooks = field(default_factory=load_runbooks)
    health: Health = field(default_factory=Health)
    _bot_user_id: str | None = None

    def __post_init__(self) -> None:
        self.incident_channels = IncidentChannels(self.sessions)

    @classmethod
    def create(
        cls,
        settings: Settings,
        policy: Policy,
        clock: Clock | None = None,
        runbooks: Runbooks | None = None,
    ) -> BotContext:
        engine = make_engine(settings.database_url)
        metrics.prime(policy.severity_keys, policy.escalation.keys)
        return cls(
            settings=settings,
            policy=policy,
            engine=engine,
            sessions=make_sessionmaker(engine),
            slack=make_slack_client(settings),
            clock=clock or SystemClock(),
            runbooks=runbooks if runbooks is not None else load_runbooks(settings.runbooks_dir),
        )

    async def bot_user_id(self) -> str:
        """The bot's own user id, asked of Slack once."""
        if self._bot_user_id is None:
            self._bot_user_id = (await self.slack.auth_test())["user_id"]
        return self._bot_user_id

    async def open_http_session(self) -> None:
        """Send every Slack call over one pooled, kept-alive HTTP session (needs a running loop).

        Without it slack-sdk opens and tears down a session per call, about four times the CPU
        of a call on a kept-alive connection: it shows when a thousand pages fall due at once.
        """
        session = self.slack.session
        if session is None or session.closed:
            self.slack.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.slack.timeout)
            )

    async def close_http_session(self) -> None:
        session, self.slack.session = self.slack.session, None
        if session is not None and not session.closed:
            await session.close()

    def remember_bot_user_id(self, user_id: str) -> None:
        """Any auth.test answer (e.g. the health check's) tells who the bot is."""
        self._bot_user_id = user_id

    async def close(self) -> None:
        """Finish acknowledged work, then release connections."""
        await self.tasks.drain()
        await self.close_http_session()
        await self.engine.dispose()
