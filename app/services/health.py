"""What GET /health reports: database round trip, scheduler heartbeat, Slack token, version.

The state the checks read (the scheduler's heartbeat, the cached token check) is kept per
process in `app.runtime.health`, on `bot.health`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from app import __version__
from app.context import BotContext
from app.store.db import ping

DB_TIMEOUT = 2.0


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
