"""An alert storm within Slack's rate tiers: 60 critical alerts in a few seconds.

The fake Slack enforces Slack's tiers with windows shrunk 50 times but in Slack's proportions
(Tier 2: 20 calls in 1.2 s; chat.postMessage: 3 per channel in 60 ms), and the bot paces itself
on the same scale. Every incident is set up and paged exactly once, nothing is created twice,
Slack never has to refuse a call, and no call is made while a Retry-After is running.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio

from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.services.engine import run_due_steps
from app.store.models import Incident
from tests.conftest import ROOT
from tests.test_alert_intake_safety import batch, critical, kinds
from tests.test_alerts import TOKEN, Post, incidents, poster

SCALE = 0.02
ALERTS = 60
ESCALATION = str(ROOT / "tests" / "policies" / "escalation.yml")

pytestmark = pytest.mark.policy(ESCALATION)


@pytest_asyncio.fixture
async def post(server: str) -> AsyncIterator[Post]:
    async with poster(server) as send:
        yield send


@pytest_asyncio.fixture
async def announce(bot: BotContext, fake_slack: FakeSlack) -> str:
    """The broadcast channel every incident is announced in, and Slack's tiers switched on."""
    fake_slack.tiers.scale = SCALE
    channel = fake_slack.add_channel("incidents", members=["UOTHER"])
    bot.settings.incidents_channel = channel
    return channel


async def storm(post: Post, *, at_once: bool = True) -> list[dict[str, Any]]:
    """60 Alertmanager deliveries of one new critical alert each: all at once, or one after
    the other (each is answered before its Slack work is done, so that work piles up too)."""
    deliveries = [post("alertmanager", batch([critical(n)], group=None)) for n in range(ALERTS)]
    answers = await asyncio.gather(*deliveries) if at_once else [await each for each in deliveries]
    assert [a.status_code for a in answers] == [200] * ALERTS
    return [r for a in answers for r in a.json()["results"]]


async def settled(bot: BotContext, clock: ManualClock) -> list[Incident]:
    """The incidents once the bot's work is done: its tasks, then the steps due within two
    minutes (setup retries; L2 is due only after 15)."""
    await bot.tasks.drain(limit=300)
    for _ in range(4):
        clock.advance(timedelta(seconds=30))
        await run_due_steps(bot)
        await bot.tasks.drain(limit=300)
    return await incidents(bot)


def step_messages(fake: FakeSlack) -> list[tuple[int, str]]:
    """(step, recipient) of every escalation message Slack holds, duplicates included."""
    return [
        (m["metadata"]["event_payload"]["step"], m["metadata"]["event_payload"]["recipient"])
        for messages in fake.messages.values()
        for m in messages
        if (m.get("metadata") or {}).get("event_type") == "incident_step"
    ]


def announcements(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [
        m
        for m in fake.messages[channel]
        if (m.get("metadata") or {}).get("event_type") == "incident_announcement"
    ]


def assert_within_the_tiers(fake: FakeSlack) -> None:
    assert fake.tiers.retry_after_violations == []
    assert [c for c in fake.calls if c.status == 429] == []
    assert fake.violations == []


@pytest.mark.settings(alert_webhook_token=TOKEN, alert_storm_limit=0, slack_rate_limit_scale=SCALE)
async def test_60_alerts_at_once_open_60_incidents_each_set_up_announced_and_paged_once(
    post: Post, bot: BotContext, fake_slack: FakeSlack, clock: ManualClock, announce: str
) -> None:
    results = await storm(post)
    assert [r["action"] for r in results] == ["declared"] * ALERTS

    found = await settled(bot, clock)
    assert len(found) == ALERTS
    assert [(i.public_id, i.setup_error) for i in found if not i.setup_complete] == []
    # One channel each: 60 made (Tier 2: three windows' worth), none twice.
    assert len(fake_slack.calls_to("conversations.create")) == ALERTS
    assert len({i.channel_id for i in found}) == ALERTS
    assert len([c for c in fake_slack.channels.values() if not c.is_im]) == ALERTS + 1
    announced = [m["ts"] for m in announcements(fake_slack, announce)]
    assert len(announced) == ALERTS
    assert set(announced) == {i.announcement_ts for i in found}
    # L1 paged once per incident: in its channel and by DM to the on-call engineer.
    for incident in found:
        assert len(await kinds(bot, incident, "paged")) == 1, incident.public_id
    sent = step_messages(fake_slack)
    assert len(sent) == len(set(sent)) == 2 * ALERTS
    assert Counter(recipient for _, recipient in sent) == {"channel": ALERTS, "UONCALL": ALERTS}
    assert_within_the_tiers(fake_slack)


@pytest.mark.settings(alert_webhook_token=TOKEN, alert_storm_limit=5, slack_rate_limit_scale=SCALE)
@pytest.mark.parametrize("at_once", [True, False], ids=["concurrent", "one-by-one"])
async def test_60_alerts_with_the_storm_limit_fold_into_one_storm_incident(
    post: Post,
    bot: BotContext,
    fake_slack: FakeSlack,
    clock: ManualClock,
    announce: str,
    at_once: bool,
) -> None:
    results = await storm(post, at_once=at_once)
    assert Counter(r["action"] for r in results) == {"declared": 6, "updated": ALERTS - 6}

    found = await settled(bot, clock)
    assert len(found) == 6
    assert [(i.public_id, i.setup_error) for i in found if not i.setup_complete] == []
    [storm_incident] = [i for i in found if i.title == "Alert storm from alertmanager"]
    assert len(await kinds(bot, storm_incident, "alert")) == ALERTS - 5
    assert len(fake_slack.calls_to("conversations.create")) == 6
    for incident in found:
        assert len(await kinds(bot, incident, "paged")) == 1, incident.public_id
    sent = step_messages(fake_slack)
    assert len(sent) == len(set(sent)) == 2 * 6
    assert_within_the_tiers(fake_slack)
