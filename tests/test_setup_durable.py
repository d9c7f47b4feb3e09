"""Setup as a durable step: Slack failing for a while delays it and loses nothing; L1 is paged
whatever the channel's fate (by DM and in the broadcast channel while there is none, then copied
into the channel once); a refusal reaches a person, never the bot itself."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services.engine import run_due_steps
from app.store.models import ScheduledStep, StepStatus
from tests.conftest import ROOT
from tests.running import posts_to
from tests.test_alerts import TOKEN, alertmanager, am_alert, poster
from tests.test_declare import incidents, open_modal, submit

ESCALATION_POLICY = str(ROOT / "tests" / "policies" / "escalation.yml")


def tagged(fake: FakeSlack, channel: str, event_type: str) -> list[dict[str, Any]]:
    return [
        m
        for m in fake.messages.get(channel, [])
        if (m.get("metadata") or {}).get("event_type") == event_type
    ]


def notices(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    """The setup notices posted to `channel` (a user id for a DM)."""
    return [m for m in posts_to(fake, channel) if "retry-setup" in m["text"]]


def dms(fake: FakeSlack, user: str) -> list[dict[str, Any]]:
    channel = fake.state.ims.get(user)
    return list(fake.messages.get(channel, [])) if channel else []


def pages_in(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [m for m in fake.messages.get(channel, []) if m["text"].startswith(":rotating_light:")]


async def setup_steps(bot: BotContext) -> list[ScheduledStep]:
    async with bot.sessions() as session:
        stmt = select(ScheduledStep).where(ScheduledStep.kind == "setup")
        return list((await session.execute(stmt.order_by(ScheduledStep.id))).scalars())


async def after_backoff(bot: BotContext, clock: ManualClock, minutes: int = 5) -> None:
    clock.advance(timedelta(minutes=minutes))
    await run_due_steps(bot)
    await bot.tasks.drain()


async def test_a_429_burst_on_the_announcement_is_announced_later_with_no_setup_error(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    announce = fake_slack.add_channel("incidents")
    bot.settings.incidents_channel = announce
    # More 429s than the client waits out in one go: the first attempt gives up on it.
    fake_slack.rate_limit_next(
        "chat.postMessage", retry_after=0, times=8, when={"channel": announce}
    )
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Busy broadcast", severity="P2")

    [incident] = await incidents(bot)
    assert incident.channel_id and incident.summary_ts  # the rest of the setup went on
    assert not incident.announcement_ts and incident.setup_error is None
    [step] = await setup_steps(bot)
    assert step.status == StepStatus.PENDING and step.last_error == "ratelimited"

    await after_backoff(bot, clock)
    [incident] = await incidents(bot)
    [announcement] = tagged(fake_slack, announce, "incident_announcement")
    assert incident.announcement_ts == announcement["ts"]
    assert incident.setup_complete and incident.setup_error is None
    assert notices(fake_slack, "UREPORTER") == []  # nothing to tell anyone
    [step] = await setup_steps(bot)
    assert step.status == StepStatus.SENT


@pytest.mark.policy(ESCALATION_POLICY)
async def test_channel_creation_failing_pages_by_dm_then_the_channel_comes_with_the_page(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    announce = fake_slack.add_channel("incidents")
    bot.settings.incidents_channel = announce
    fake_slack.server_error_next("conversations.create", times=6)
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="No channel yet", severity="P1")

    [incident] = await incidents(bot)
    assert incident.channel_id is None and incident.setup_error is None
    [dm] = dms(fake_slack, "UONCALL")  # L1 did not wait for the channel
    [broadcast] = pages_in(fake_slack, announce)
    assert "<@UONCALL>" in broadcast["text"]

    for _ in range(12):  # well within L1's 15 minutes
        if incident.setup_complete:
            break
        await after_backoff(bot, clock, minutes=1)
        [incident] = await incidents(bot)
    assert incident.setup_complete and incident.channel_id
    assert [c.name for c in fake_slack.channels.values() if c.name.startswith("incident-")] == [
        "incident-20261128-no-channel-yet"
    ]
    [copy] = pages_in(fake_slack, incident.channel_id)
    assert "<@UONCALL>" in copy["text"] and "before this channel existed" in copy["text"]
    assert len(dms(fake_slack, "UONCALL")) == 1

    await after_backoff(bot, clock, minutes=1)  # more ticks: nothing copied or paged again
    assert len(pages_in(fake_slack, incident.channel_id)) == 1
    assert len(dms(fake_slack, "UONCALL")) == 1


@pytest.mark.policy(ESCALATION_POLICY)
async def test_retry_setup_runs_the_setup_now_and_copies_the_dmd_page_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    fake_slack.fail_next("conversations.create", "restricted_action")
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Refused channel", severity="P1")
    [incident] = await incidents(bot)
    assert incident.channel_id is None and "restricted_action" in (incident.setup_error or "")
    [notice] = notices(fake_slack, "UREPORTER")
    assert f"retry-setup {incident.public_id}" in notice["text"]
    assert len(dms(fake_slack, "UONCALL")) == 1

    answer = (await slack.command(f"retry-setup {incident.public_id}")).json()
    assert "Retrying" in answer["text"]
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert incident.setup_complete and incident.channel_id and incident.setup_error is None
    [copy] = pages_in(fake_slack, incident.channel_id)
    assert "<@UONCALL>" in copy["text"]
    assert len(dms(fake_slack, "UONCALL")) == 1
    assert len(notices(fake_slack, "UREPORTER")) == 1  # told once, not again on success


async def test_a_refusal_is_reported_once_however_often_it_is_retried(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    fake_slack.fail_next("pins.add", "not_in_channel", times=2)
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Pin refused", severity="P3")
    [incident] = await incidents(bot)
    await slack.command(f"retry-setup {incident.public_id}")
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert not incident.setup_complete and "not_in_channel" in (incident.setup_error or "")
    assert len(notices(fake_slack, "UREPORTER")) == 1
    await slack.command(f"retry-setup {incident.public_id}")
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert incident.setup_complete and fake_slack.pins[incident.channel_id] == [incident.summary_ts]


@pytest.mark.settings(alert_webhook_token=TOKEN)
@pytest.mark.parametrize("refused", ["pins.add", "conversations.create"])
async def test_an_alert_incidents_setup_notice_goes_to_a_channel_never_to_the_bot(
    server: str, fake_slack: FakeSlack, bot: BotContext, refused: str
) -> None:
    announce = fake_slack.add_channel("incidents")
    bot.settings.incidents_channel = announce
    error = "not_in_channel" if refused == "pins.add" else "restricted_action"
    fake_slack.fail_next(refused, error)
    async with poster(server) as post:
        response = await post("alertmanager", alertmanager(am_alert()))
    assert response.status_code == 200
    await bot.tasks.drain()

    [incident] = await incidents(bot)
    assert incident.reporter_id == fake_slack.bot_user_id and error in (incident.setup_error or "")
    assert posts_to(fake_slack, fake_slack.bot_user_id) == []
    told = incident.channel_id if refused == "pins.add" else announce
    assert told
    [notice] = notices(fake_slack, told)
    assert incident.public_id in notice["text"]


async def test_slack_failing_for_long_is_told_once_and_the_setup_still_finishes_by_itself(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    fake_slack.server_error_next("conversations.create", times=10)  # five attempts' worth
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Long outage", severity="P2")
    for _ in range(15):
        [incident] = await incidents(bot)
        if incident.setup_complete:
            break
        await after_backoff(bot, clock, minutes=1)
    assert incident.setup_complete and incident.setup_error is None
    [delayed] = notices(fake_slack, "UREPORTER")
    assert "keeps retrying by itself" in delayed["text"]
    [step] = await setup_steps(bot)
    assert step.status == StepStatus.SENT and step.attempts == 6


async def test_no_free_channel_name_is_a_refusal_told_once_not_retried_forever(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    fake_slack.fail_next("conversations.create", "name_taken", times=50)
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Popular name", severity="P3")
    await after_backoff(bot, clock)
    [incident] = await incidents(bot)
    assert incident.channel_id is None and incident.setup_error == (
        "refused: create_channel (name_taken)"
    )
    assert len(fake_slack.attempts_to("conversations.create")) == 50
    [notice] = notices(fake_slack, "UREPORTER")
    assert "create channel (name_taken)" in notice["text"]
    [step] = await setup_steps(bot)
    assert step.status == StepStatus.CANCELLED  # a person must act: /incident retry-setup
