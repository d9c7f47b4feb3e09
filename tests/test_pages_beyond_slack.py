"""A level that names nobody in Slack but pages another way (PagerDuty, its own e-mail
addresses) is a page like any other: it is not skipped as empty, its channel is told once, and
the next level waits the level's window."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest_asyncio
from sqlalchemy import select

from app import wiring
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.domain.escalation import PAGE
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.pagerduty import DEFAULT_ROUTING_KEY, FakePagerDuty
from app.sandbox.sender import SlackSender
from app.services.engine import run_due_steps
from app.store.models import ScheduledStep, StepStatus
from tests.conftest import clean, make_settings
from tests.running import declare, entries, posts_to

POLICY = Path(__file__).parent / "policies" / "paging_pagerduty_only.yml"


@pytest_asyncio.fixture
async def pagerduty(clock: ManualClock) -> AsyncIterator[FakePagerDuty]:
    fake = FakePagerDuty(clock=clock.now)
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == []


@pytest_asyncio.fixture
async def bot(
    database_url: str, fake_slack: FakeSlack, clock: ManualClock, pagerduty: FakePagerDuty
) -> AsyncIterator[BotContext]:
    settings = make_settings(
        fake_slack,
        database_url,
        escalation_tick_seconds=0,
        pagerduty_routing_key=DEFAULT_ROUTING_KEY,
        pagerduty_events_url=pagerduty.base_url,
    )
    ctx = wiring.build(settings, load_policy(POLICY), clock)
    await clean(ctx)
    yield ctx
    await ctx.tasks.drain()
    await ctx.close()


async def pages(bot: BotContext) -> list[ScheduledStep]:
    async with bot.sessions() as session:
        stmt = select(ScheduledStep).where(ScheduledStep.kind == PAGE).order_by(ScheduledStep.id)
        return list((await session.execute(stmt)).scalars())


async def test_a_pagerduty_only_level_triggers_and_the_next_level_waits_its_window(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    pagerduty: FakePagerDuty,
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P0")
    await run_due_steps(bot)
    await run_due_steps(bot)
    [pd] = pagerduty.incidents
    assert pd.dedup_key == incident.public_id
    l1, l2 = await pages(bot)
    assert l1.level == "L1" and l1.status == StepStatus.SENT and l1.data.get("beyond")
    assert l2.level == "L2" and l2.status == StepStatus.PENDING
    assert l2.due_at == l1.sent_at + timedelta(minutes=15)  # not paged at once as "empty"
    told = [m["text"] for m in posts_to(fake_slack, incident.channel_id or "")]
    assert sum("paged by PagerDuty" in t for t in told) == 1
    assert "Paged L1 On-call Engineer by PagerDuty" in [
        e.text for e in await entries(bot, incident)
    ]
