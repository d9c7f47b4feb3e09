"""A severity with `channel: false` (#16: a P3 that is a ticket only): declaring opens no
incident channel, yet the setup completes: the incident is announced in INCIDENTS_CHANNEL, the
reporter gets its id by DM, L1 is paged by DM, and its ticket opens in the (fake) Jira. The
real bot against the fake Slack and a fake Jira answering in Jira's published shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest_asyncio

from app import wiring
from app.clock import ManualClock
from app.config.policy_loader import load_policy
from app.context import BotContext
from app.domain.lifecycle import Status
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.sandbox.trackers.jira import FakeJira
from app.services import review, setup
from app.services.engine import run_due_steps
from app.store.models import Incident
from tests.conftest import ROOT, clean, make_settings
from tests.running import command, declare, posts_to, reload
from tests.test_declare import incidents, open_modal, submit

POLICY = ROOT / "tests" / "policies" / "ticket_only.yml"


@pytest_asyncio.fixture
async def jira() -> AsyncIterator[FakeJira]:
    fake = FakeJira("cloud")
    fake.seed_project("OPS")
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == []


@pytest_asyncio.fixture
async def announce(fake_slack: FakeSlack) -> str:
    return fake_slack.add_channel("incidents")


@pytest_asyncio.fixture
async def bot(
    database_url: str, fake_slack: FakeSlack, clock: ManualClock, jira: FakeJira, announce: str
) -> AsyncIterator[BotContext]:
    settings = make_settings(
        fake_slack,
        database_url,
        escalation_tick_seconds=0,
        incidents_channel=announce,
        jira_url=jira.base_url,
        jira_email=jira.email,
        jira_api_token=jira.token,
    )
    ctx = wiring.build(settings, load_policy(POLICY), clock)
    await clean(ctx)
    yield ctx
    await ctx.tasks.drain()
    await ctx.close()


async def settle(bot: BotContext, clock: ManualClock, rounds: int = 3) -> None:
    for _ in range(rounds):
        await run_due_steps(bot)
        await bot.tasks.drain()
        clock.advance(timedelta(seconds=3))
    await run_due_steps(bot)


async def test_a_ticket_only_p3_opens_no_channel_and_completes_its_setup(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    jira: FakeJira,
    announce: str,
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P3", title="Typo on *pricing*")
    await settle(bot, clock)
    incident = await reload(bot, incident)
    assert incident.setup_complete and incident.setup_error is None
    assert incident.channel_id is None
    assert fake_slack.calls_to("conversations.create") == []

    # Announced in the broadcast channel, by its id (there is no channel to join).
    texts = [m["text"] for m in fake_slack.messages[announce]]
    [announcement] = [t for t in texts if t.startswith(":rotating_light: P3 Low incident")]
    assert incident.public_id in announcement and "<#" not in announcement
    assert f"`/incident <command> {incident.public_id}`" in announcement
    # The reporter is told the id by DM, once.
    [told] = [m["text"] for m in posts_to(fake_slack, "UREPORTER")]
    assert incident.public_id in told and "opens no incident channel" in told
    assert "its ticket is being opened in Jira" in told
    # L1 is paged by DM (and in the broadcast channel), as any page without a channel.
    [page] = [m for m in posts_to(fake_slack, "UONCALL") if incident.public_id in m["text"]]
    assert any("UONCALL" in t and t != announcement for t in texts)
    # The ticket opens all the same.
    [issue] = jira.issues.values()
    assert issue.project == "OPS" and incident.public_id in issue.labels

    # Setting it up again does nothing twice.
    result = await setup.retry_setup(bot, incident.id)
    assert result.ok
    assert len(posts_to(fake_slack, "UREPORTER")) == 1
    again = [m["text"] for m in fake_slack.messages[announce]]
    assert len([t for t in again if t.startswith(":rotating_light: P3 Low")]) == 1

    # The person paged acknowledges by id, from anywhere.
    answer = await command(
        slack, bot, f"ack {incident.public_id}", channel="CGENERAL", user="UONCALL"
    )
    assert answer.startswith(f"You acknowledged {incident.public_id}")
    assert (await reload(bot, incident)).acknowledged_by == "UONCALL"
    assert page["channel"] == "UONCALL"


async def test_a_severity_with_a_channel_still_opens_one(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P2")
    assert incident.channel_id and incident.summary_ts
    assert len(fake_slack.calls_to("conversations.create")) == 1


async def test_a_lost_answer_to_the_reporters_dm_is_not_sent_twice(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    fake_slack.fail_after_success("chat.postMessage", when={"channel": "UREPORTER"})
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Typo", severity="P3")
    [incident] = await incidents(bot)
    assert not incident.setup_complete  # the DM's answer was lost: the step is retried
    for _ in range(6):
        clock.advance(timedelta(seconds=30))
        await run_due_steps(bot)
        await bot.tasks.drain()
    incident = await reload(bot, incident)
    assert incident.setup_complete and incident.channel_id is None
    # Slack holds the one DM the first try made (its answer lost); the retry found it there.
    [told] = fake_slack.messages[fake_slack.state.ims["UREPORTER"]]
    assert incident.public_id in told["text"]


async def test_the_reporter_of_a_channel_less_incident_may_still_act_on_it_by_id(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P3", title="Typo on pricing")
    await settle(bot, clock)
    answer = await command(slack, bot, f"ack {incident.public_id}", channel="CGENERAL")
    assert "You acknowledged" in answer
    stranger = await command(
        slack, bot, f"ack {incident.public_id}", channel="CGENERAL", user="UOTHER"
    )
    assert "You acknowledged" not in stranger and (await reload(bot, incident)).acknowledged_by


async def test_a_resolved_channel_less_incident_plans_no_review_reminder_it_cannot_post(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    """Nowhere to post it and no button to mark the review held: the reminder is not planned
    again and again (an incident whose channel may still come keeps it)."""
    ticket_only = await declare(slack, fake_slack, bot, severity="P3", title="Typo")
    with_channel = await declare(slack, fake_slack, bot, severity="P2", title="Slow search")
    await settle(bot, clock)
    async with bot.sessions.begin() as session:
        for found in (ticket_only, with_channel):
            row = await session.get(Incident, found.id)
            assert row is not None
            row.status, row.resolved_at = Status.RESOLVED, clock.now()
            row.channel_id = None  # the P2's setup still to be retried
    assert await review.send_review_reminder(bot, ticket_only.id) is False
    assert await review.send_review_reminder(bot, with_channel.id) is True
