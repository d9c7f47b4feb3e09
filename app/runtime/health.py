"""Health state kept per process: the scheduler's heartbeat and the cached Slack token check.

The scheduler owns a `SchedulerHeartbeat` and calls `tick()` on every run; it sets
`bot.health.scheduler` when it starts. Without one the scheduler check says "not running" and
stays healthy, so a process that does not run the scheduler is not restarted for it.

The Slack token check calls `auth.test` at most once per `SlackTokenCheck.every` (and sooner
again after a failure), never once per probe: orchestrators probe every few seconds. What
GET /health reports is put together in `app.services.health`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.clock import Clock

SLACK_TIMEOUT = 3.0


class TokenChecked(Protocol):
    """What the token check needs of the bot: its clock and client, and where to keep its id."""

    clock: Clock
    slack: AsyncWebClient

    def remember_bot_user_id(self, user_id: str, workspace_url: str | None = None) -> None: ...


@dataclass
class SchedulerHeartbeat:
    """The scheduler's pulse. `interval` is how often it means to tick."""

    interval: timedelta
    started_at: datetime
    last_tick: datetime | None = None

    def tick(self, at: datetime) -> None:
        self.last_tick = at

    def lag(self, now: datetime) -> timedelta:
        """How overdue the next tick is; zero while the scheduler keeps its rhythm."""
        expected = (self.last_tick or self.started_at) + self.interval
        return max(timedelta(0), now - expected)

    def tolerance(self) -> timedelta:
        """Lag beyond this is unhealthy: a few missed ticks, at least a minute."""
        return max(self.interval * 3, timedelta(minutes=1))


@dataclass
class SlackTokenCheck:
    """`auth.test`, cached: `every` after a success, `retry_after_failure` after a failure."""

    every: timedelta = timedelta(minutes=5)
    retry_after_failure: timedelta = timedelta(seconds=30)
    checked_at: datetime | None = None
    result: dict[str, Any] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _fresh(self, now: datetime) -> bool:
        if self.checked_at is None or self.result is None:
            return False
        ttl = self.every if self.result["ok"] else self.retry_after_failure
        return now - self.checked_at < ttl

    async def check(self, bot: TokenChecked) -> dict[str, Any]:
        async with self._lock:
            now = bot.clock.now()
            if not self._fresh(now):
                self.result = await self._auth_test(bot)
                self.checked_at = now
            assert self.result is not None and self.checked_at is not None
            return {**self.result, "checked_at": self.checked_at.isoformat()}

    @staticmethod
    async def _auth_test(bot: TokenChecked) -> dict[str, Any]:
        try:
            async with asyncio.timeout(SLACK_TIMEOUT):
                response = await bot.slack.auth_test()
        except SlackApiError as exc:
            return {"ok": False, "error": str(exc.response.get("error") or "slack_error")}
        except TimeoutError:
            return {"ok": False, "error": f"unreachable (no answer within {SLACK_TIMEOUT:g}s)"}
        except Exception as exc:  # noqa: BLE001 - network trouble of any kind
            return {"ok": False, "error": f"unreachable ({type(exc).__name__})"}
        url = response.get("url")
        bot.remember_bot_user_id(str(response["user_id"]), str(url) if url else None)
        return {"ok": True, "team": response.get("team"), "user_id": response.get("user_id")}


@dataclass
class Health:
    """Per-process health state, kept on the BotContext."""

    scheduler: SchedulerHeartbeat | None = None
    slack_token: SlackTokenCheck = field(default_factory=SlackTokenCheck)
