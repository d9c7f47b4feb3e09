"""Fixtures: a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL), the fake Slack
Web API, and the real bot served over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import uvicorn
import yaml
from sqlalchemy import MetaData, text

from app import wiring
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.config.settings import Settings, normalize_database_url
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.store.migrate import upgrade
from app.store.models import Base
from app.web import create_web_app

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-A0001-test-app-token"
SIGNING_SECRET = "test-signing-secret"
USERS = {
    "UREPORTER": "reporter@example.com",
    "UOTHER": "other@example.com",
    "UONCALL": "oncall@example.com",
    "ULEAD": "lead@example.com",
    "UCTO": "cto@example.com",
    "UCEO": "ceo@example.com",
}


def manifest_bot_scopes() -> set[str]:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    return set(manifest["oauth_config"]["scopes"]["bot"])


def reset_schema(url: str) -> None:
    """Drop every table, then build the schema with the real migrations."""
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:

        async def drop() -> None:
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine(url)
            async with engine.begin() as conn:

                def drop_all(sync_conn: Any) -> None:
                    meta = MetaData()
                    meta.reflect(sync_conn)
                    meta.drop_all(sync_conn)

                await conn.run_sync(drop_all)
            await engine.dispose()

        asyncio.run(drop())
    upgrade(url)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    raw = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    )
    url = normalize_database_url(raw)
    reset_schema(url)
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest_asyncio.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(token=TOKEN, granted_scopes=manifest_bot_scopes(), app_token=APP_TOKEN)
    for user_id, email in USERS.items():
        fake.add_user(user_id, name=user_id.lower(), email=email)
    await fake.start()
    yield fake
    await fake.stop()
    # The fake records its own inconsistencies (an undocumented error code, a crash).
    assert fake.violations == []


def make_settings(fake: FakeSlack, database_url: str, **overrides: Any) -> Settings:
    # The bot paces its Slack calls on Slack's tiers with windows 1000 times shorter: the pacing
    # runs in every test without any test waiting on Slack's real windows (test_alert_storm asks
    # for real-proportioned ones).
    overrides.setdefault("slack_rate_limit_scale", 0.001)
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.base_url,
        database_url=database_url,
        **overrides,
    )


async def clean(bot: BotContext) -> None:
    async with bot.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(text(f"DELETE FROM {table.name}"))


@pytest_asyncio.fixture
async def bot(
    request: pytest.FixtureRequest, database_url: str, fake_slack: FakeSlack, clock: ManualClock
) -> AsyncIterator[BotContext]:
    """The bot's services against the test database and the fake Slack.

    `@pytest.mark.settings(incidents_channel="C…")` overrides settings for one test, and
    `@pytest.mark.policy("path.yml")` loads another policy.
    """
    marker = request.node.get_closest_marker("settings")
    overrides = dict(marker.kwargs) if marker else {}
    # Tests drive the scheduler's tick themselves (run_due_steps with the ManualClock); a test
    # that wants the lifespan's scheduler running sets escalation_tick_seconds.
    overrides.setdefault("escalation_tick_seconds", 0)
    policy_marker = request.node.get_closest_marker("policy")
    settings = make_settings(fake_slack, database_url, **overrides)
    policy = load_policy(policy_marker.args[0] if policy_marker else None)
    ctx = wiring.build(settings, policy, clock)
    await clean(ctx)
    yield ctx
    await ctx.tasks.drain()
    await ctx.engine.dispose()


@contextlib.asynccontextmanager
async def serve_bot(bot: BotContext) -> AsyncIterator[str]:
    """The real web app for `bot`, served by uvicorn on an ephemeral port; yields its URL."""
    config = uvicorn.Config(
        create_web_app(bot),
        host="127.0.0.1",
        port=0,
        log_config=None,
        lifespan="on",
        access_log=False,
    )
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve())
    while not srv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    port = srv.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        await task


@pytest_asyncio.fixture
async def server(bot: BotContext) -> AsyncIterator[str]:
    async with serve_bot(bot) as url:
        yield url


@pytest_asyncio.fixture
async def slack(server: str, fake_slack: FakeSlack) -> AsyncIterator[SlackSender]:
    sender = SlackSender(server, SIGNING_SECRET, fake_slack)
    yield sender
    await sender.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "settings(**overrides): settings for the bot fixture")
    config.addinivalue_line("markers", "policy(path): policy file for the bot fixture")
