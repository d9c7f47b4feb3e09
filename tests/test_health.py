"""GET /health and /api/health: healthy, and each way of being unhealthy, named."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from app.clock import ManualClock
from app.context import BotContext
from app.runtime.health import SchedulerHeartbeat
from app.sandbox.fakeslack import FakeSlack
from app.store.db import make_engine


async def probe(server: str, path: str = "/health") -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.get(server + path)


async def test_healthy_reports_every_check_and_the_version(
    server: str, fake_slack: FakeSlack
) -> None:
    for path in ("/health", "/api/health"):
        answer = await probe(server, path)
        assert answer.status_code == 200
        body = answer.json()
        assert body["status"] == "ok" and body["version"] == "0.1.0"
        assert "failing" not in body
        checks = body["checks"]
        assert checks["database"]["ok"] and checks["database"]["latency_ms"] >= 0
        assert checks["scheduler"] == {"ok": True, "running": False, "status": "not running"}
        assert checks["slack"]["ok"] and checks["slack"]["user_id"] == fake_slack.bot_user_id


async def test_database_down_is_503_naming_the_database(server: str, bot: BotContext) -> None:
    good = bot.engine
    bot.engine = make_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        answer = await probe(server)
    finally:
        await bot.engine.dispose()
        bot.engine = good
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unhealthy" and body["failing"] == ["database"]
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["slack"]["ok"] is True


async def test_slack_token_is_checked_once_per_interval_not_per_probe(
    server: str, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    for _ in range(5):
        assert (await probe(server)).status_code == 200
    assert len(fake_slack.attempts_to("auth.test")) == 1
    clock.advance(4 * 60)
    await probe(server)
    assert len(fake_slack.attempts_to("auth.test")) == 1
    clock.advance(61)
    await probe(server)
    assert len(fake_slack.attempts_to("auth.test")) == 2


async def test_revoked_token_is_503_naming_slack_and_is_rechecked_soon(
    server: str, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    fake_slack.fail_next("auth.test", "invalid_auth")
    clock.advance(5 * 60 + 1)  # past the answer cached at start-up
    answer = await probe(server)
    assert answer.status_code == 503
    body = answer.json()
    assert body["failing"] == ["slack"]
    assert body["checks"]["slack"]["error"] == "invalid_auth"
    # A failure is cached briefly, then checked again: a fixed token turns healthy quickly.
    assert (await probe(server)).status_code == 503
    assert len(fake_slack.attempts_to("auth.test")) == 2  # start-up, then the expired cache
    clock.advance(31)
    assert (await probe(server)).status_code == 200


async def test_unreachable_slack_is_503_naming_slack(
    server: str, bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    await fake_slack.stop()
    clock.advance(5 * 60 + 1)  # past the answer cached at start-up
    answer = await probe(server)
    assert answer.status_code == 503
    assert answer.json()["failing"] == ["slack"]
    assert answer.json()["checks"]["slack"]["error"].startswith("unreachable")


async def test_scheduler_heartbeat_reports_last_tick_and_lag(
    server: str, bot: BotContext, clock: ManualClock
) -> None:
    heartbeat = SchedulerHeartbeat(interval=timedelta(seconds=30), started_at=clock.now())
    bot.health.scheduler = heartbeat
    heartbeat.tick(clock.now())
    clock.advance(40)
    body = (await probe(server)).json()
    assert body["checks"]["scheduler"] == {
        "ok": True,
        "running": True,
        "status": "ok",
        "last_tick": "2026-11-28T09:00:00+00:00",
        "lag_seconds": 10.0,
    }

    clock.advance(5 * 60)  # the scheduler stopped ticking
    answer = await probe(server)
    assert answer.status_code == 503
    assert answer.json()["failing"] == ["scheduler"]
    assert answer.json()["checks"]["scheduler"]["status"] == "late"


@pytest.mark.parametrize(
    ("interval", "tolerance"),
    [(timedelta(seconds=10), timedelta(minutes=1)), (timedelta(minutes=1), timedelta(minutes=3))],
)
def test_scheduler_tolerates_a_few_missed_ticks(
    interval: timedelta, tolerance: timedelta, clock: ManualClock
) -> None:
    heartbeat = SchedulerHeartbeat(interval=interval, started_at=clock.now())
    assert heartbeat.tolerance() == tolerance
    assert heartbeat.lag(clock.now()) == timedelta(0)  # not due yet
