"""What GET /health reports: database round trip, scheduler heartbeat, Slack token, version.

The scheduler owns a `SchedulerHeartbeat` and calls `tick()` on every run; it sets
`bot.health.scheduler` when it starts. Without one the check says "not running" and stays
healthy, so a process that does not run the scheduler is not restarted for it.

The Slack token check calls `auth.test` at most once per `SlackTokenCheck.every` (and sooner
again after a failure), never once per probe: orchestrators probe every few seconds.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from app import __version__
from app.store.db import ping

if TYPE_CHECKING:
    from app.context import BotContext

DB_TIMEOUT = 2.0
SLACK_TIMEOUT = 3.0


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

    async def check(self, bot: BotContext) -> dict[str, Any]:
        async with self._lock:
            now = bot.clock.now()
            if not self._fresh(now):
                self.result = await self._auth_test(bot)
                self.checked_at = now
            assert self.result is not None
            return {**self.result, "checked_at": self.checked_at.isoformat()}

    @staticmethod
    async def _auth_test(bot: BotContext) -> dict[str, Any]:
        try:
            async with asyncio.timeout(SLACK_TIMEOUT):
                response = await bot.slack.auth_test()
        except SlackApiError as exc:
            return {"ok": False, "error": str(exc.response.get("error") or "slack_error")}
        except TimeoutError:
            return {"ok": False, "error": f"unreachable (no answer within {SLACK_TIMEOUT:g}s)"}
        except Exception as exc:  # noqa: BLE001 - network trouble of any kind
            return {"ok": False, "error": f"unreachable ({type(exc).__name__})"}
        bot.remember_bot_user_id(str(response["user_id"]))
        return {"ok": True, "team": response.get("team"), "user_id": response.get("user_id")}


@dataclass
class Health:
    """Per-process health state, kept on the BotContext."""

    scheduler: SchedulerHeartbeat | None = None
    slack_token: SlackTokenCheck = field(default_factory=SlackTokenCheck)


async def check_database(bot: BotContext) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(DB_TIMEOUT):
            await ping(bot.engine)
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def check_scheduler(bot: BotContext) -> dict[str, Any]:
    heartbeat = bot.health.scheduler
    if heartbeat is None:
        return {"ok": True, "running": False, "status": "not running"}
    lag = heartbeat.lag(bot.clock.now())
    ok = lag <= heartbeat.tolerance()
    return {
        "ok": ok,
        "running": True,
        "status": "ok" if ok else "late",
        "last_tick": heartbeat.last_tick.isoformat() if heartbeat.last_tick else None,
        "lag_seconds": round(lag.total_seconds(), 3),
    }


async def report(bot: BotContext) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): 200 when every check passes, else 503 naming the failing checks."""
    database, slack = await asyncio.gather(check_database(bot), bot.health.slack_token.check(bot))
    checks = {"database": database, "scheduler": check_scheduler(bot), "slack": slack}
    failing = [name for name, result in checks.items() if not result["ok"]]
    body: dict[str, Any] = {
        "status": "unhealthy" if failing else "ok",
        "version": __version__,
        "checks": checks,
    }
    if failing:
        body["failing"] = failing
    return (503 if failing else 200), body
