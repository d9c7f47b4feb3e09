"""Ambiguous failures: Slack did the work and the answer was lost (a 5xx after the fact, or a
dropped connection). The bot treats that as "maybe done" and looks before it tries again, so
nothing is created twice and nobody is paged twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services.engine import run_due_steps
from tests.conftest import ROOT
from tests.test_declare import incidents, open_modal, submit

ESCALATION_POLICY = str(ROOT / "tests" / "policies" / "escalation.yml")
LOST = [pytest.param({"status": 500}, id="5xx"), pytest.param({"drop": True}, id="dropped")]


def incident_channels(fake: FakeSlack) -> list[Any]:
    return [c for c in fake.channels.values() if c.name.startswith("incident-")]


def tagged(fake: FakeSlack, channel: str, event_type: str) -> list[dict[str, Any]]:
    return [
        m
        for m in fake.messages.get(channel, [])
        if (m.get("metadata") or {}).get("event_type") == event_type
    ]


def step_messages_to(fake: FakeSlack, channel: str) -> list[tuple[int, str]]:
    """(step, recipient) of every step message Slack holds in `channel`, duplicates included."""
    return [
        (m["metadata"]["event_payload"]["step"], m["metadata"]["event_payload"]["recipient"])
        for m in tagged(fake, channel, "incident_step")
    ]


async def retry_due(bot: BotContext, clock: ManualClock, rounds: int = 6) -> None:
    """Let the engine's backoffs run out and run what is due, a few times."""
    for _ in range(rounds):
        clock.advance(timedelta(minutes=5))
        await run_due_steps(bot)
        await bot.tasks.drain()


@pytest.mark.parametrize("lost", LOST)
async def test_a_lost_answer_after_conversations_create_makes_one_channel_not_a_second(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, lost: dict
) -> None:
    fake_slack.fail_after_success("conversations.create", **lost)
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Lost answer", severity="P2")
    await retry_due(bot, clock, rounds=1)

    [incident] = await incidents(bot)
    [channel] = incident_channels(fake_slack)
    assert channel.name == "incident-20261128-lost-answer"  # not "...-2"
    assert incident.channel_id == channel.id and incident.setup_complete
    assert incident.setup_error is None
    assert fake_slack.pins[channel.id] == [incident.summary_ts]
    assert len(tagged(fake_slack, channel.id, "incident_summary")) == 1


@pytest.mark.parametrize("lost", LOST)
async def test_a_lost_answer_after_the_announcement_announces_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, lost: dict
) -> None:
    announce = fake_slack.add_channel("incidents")
    bot.settings.incidents_channel = announce
    fake_slack.fail_after_success("chat.postMessage", when={"channel": announce}, **lost)
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Announced once", severity="P2")
    await retry_due(bot, clock)

    [incident] = await incidents(bot)
    [announcement] = tagged(fake_slack, announce, "incident_announcement")
    assert incident.announcement_ts == announcement["ts"] and incident.setup_complete


@pytest.mark.policy(ESCALATION_POLICY)
@pytest.mark.parametrize("lost", LOST)
async def test_a_lost_answer_after_the_l2_page_pages_l2_once(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock, lost: dict
) -> None:
    view = await open_modal(slack, fake_slack, bot)
    await submit(slack, bot, view, title="Paged once", severity="P0")
    [incident] = await incidents(bot)
    assert incident.channel_id
    # The P0's response target runs out with L1's window: the warning and L2's page go to the
    # channel in the same tick, so the page loses the answer of its DM to the lead.
    for recipient in ("ULEAD", incident.channel_id):
        fake_slack.fail_after_success("chat.postMessage", when={"channel": recipient}, **lost)
    clock.advance(timedelta(minutes=15))  # L1's window is over: L2 falls due
    await run_due_steps(bot)
    await retry_due(bot, clock, rounds=2)

    sent = step_messages_to(fake_slack, incident.channel_id)
    assert len(sent) == len(set(sent)), f"a page went out twice: {sent}"
    l2_pages = [
        m for m in fake_slack.messages[incident.channel_id] if "to L2 Engineering Lead" in m["text"]
    ]
    assert len(l2_pages) == 1
    lead = fake_slack.state.ims.get("ULEAD")
    assert lead and len(fake_slack.messages[lead]) == 1
