"""What every service needs, held once per process and passed explicitly.

A plain holder: it is built (engine, Slack client, registrations) by `app.wiring.build`, and
it imports nothing above it, so every layer from the store up may take one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.clock import Clock, SystemClock
from app.config.settings import Settings
from app.domain.policy import Policy
from app.domain.runbooks import Runbooks
from app.runtime.health import Health
from app.runtime.tasks import BackgroundTasks
from app.runtime.wakeup import Wakeup
from app.trackers import Tracker


class IncidentChannelIndex(Protocol):
    """Which Slack channels are incident channels (`app.services.incident_channels`)."""

    async def load(self) -> None: ...

    def add(self, channel_id: str, incident_id: int) -> None: ...

    def known_not_incident(self, channel_id: str) -> bool: ...

    async def incident_for(self, channel_id: str) -> int | None: ...


class SlackDirectory(Protocol):
    """Who is in which channel and who is a guest, asked of Slack and remembered briefly
    (`app.services.directory`). A question Slack cannot answer raises."""

    async def is_member(self, channel_id: str, user_id: str) -> bool: ...

    async def is_guest(self, user_id: str) -> bool: ...

    def forget(self, channel_id: str) -> None: ...


@dataclass
class BotContext:
    settings: Settings
    policy: Policy
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    slack: AsyncWebClient
    # Which channels are incident channels, kept in memory so events elsewhere cost nothing.
    incident_channels: IncidentChannelIndex
    # Channel members and guests, for who may act on an incident (cached for a minute).
    directory: SlackDirectory
    runbooks: Runbooks
    clock: Clock = field(default_factory=SystemClock)
    tasks: BackgroundTasks = field(default_factory=BackgroundTasks)
    health: Health = field(default_factory=Health)
    # Told after each commit that plans a step; the scheduler listens to wake at its due time.
    wakeup: Wakeup = field(default_factory=Wakeup)
    # The issue trackers whose credentials are set, by name ("jira", "github", "linear"); the
    # policy's `tickets.provider` says which one incidents use.
    trackers: Mapping[str, Tracker] = field(default_factory=dict)
    _bot_user_id: str | None = None
    _workspace_url: str | None = None
    _asking: asyncio.Lock = field(default_factory=asyncio.Lock)  # one auth.test at a time

    async def bot_user_id(self) -> str:
        """The bot's own user id, asked of Slack once."""
        if self._bot_user_id is None:
            await self._who_am_i(lambda: self._bot_user_id)
        assert self._bot_user_id is not None
        return self._bot_user_id

    async def workspace_url(self) -> str:
        """The workspace's address (`https://team.slack.com/`), asked of Slack once: permalinks
        are built from it instead of a `chat.getPermalink` call per message."""
        if self._workspace_url is None:
            await self._who_am_i(lambda: self._workspace_url)
        assert self._workspace_url is not None
        return self._workspace_url

    async def _who_am_i(self, known: Callable[[], str | None]) -> None:
        """One `auth.test` answers both questions; callers arriving together share it."""
        async with self._asking:
            if known() is None:
                answer = await self.slack.auth_test()
                self._bot_user_id = str(answer["user_id"])
                self._workspace_url = str(answer["url"])

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

    def remember_bot_user_id(self, user_id: str, workspace_url: str | None = None) -> None:
        """Any auth.test answer (e.g. the health check's) tells who the bot is, and where."""
        self._bot_user_id = user_id
        if workspace_url:
            self._workspace_url = workspace_url

    async def close(self) -> None:
        """Finish acknowledged work, then release connections."""
        await self.tasks.drain()
        await self.close_http_session()
        for tracker in self.trackers.values():
            await tracker.aclose()
        await self.engine.dispose()
