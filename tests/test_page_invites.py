"""Inviting paged people into the incident channel never holds the page back.

`conversations.invite` is a Tier 3 method: when Slack makes the bot wait for it (a Retry-After,
a busy tier), the page's channel message and DMs still go out at once and the invitation
becomes a step of its own, retried until the people are in the channel.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services.escalation.invites import INVITE
from app.store.models import StepStatus
from tests.running import resolve
from tests.test_escalation import POLICY, declare_incident, dms, pages, steps_of, tick

pytestmark = pytest.mark.policy(POLICY)


def invited(fake: FakeSlack, channel: str | None) -> bool:
    assert channel is not None
    return "UONCALL" in fake.channels[channel].members


async def test_a_page_invites_its_people_alongside_its_messages(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare_incident(slack, fake_slack, bot, "P1")
    assert len(pages(fake_slack, incident)) == 1 and len(dms(fake_slack, "UONCALL")) == 1
    assert invited(fake_slack, incident.channel_id)
    assert await steps_of(bot, incident, INVITE) == []  # done in the page's own round


async def test_an_invitation_slack_makes_wait_for_does_not_hold_the_page(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    # Slack answers the first invitation with a 429 and Retry-After: 3 (the limiter then holds
    # every conversations.invite for 3 seconds).
    fake_slack.rate_limit_next("conversations.invite", retry_after=3, when={"users": "UONCALL"})
    incident = await declare_incident(slack, fake_slack, bot, "P1")

    # The page went out and was settled: its channel message, its DM, L2 planned.
    assert len(pages(fake_slack, incident)) == 1 and len(dms(fake_slack, "UONCALL")) == 1
    [page] = [s for s in await steps_of(bot, incident, "page") if s.level == "L1"]
    assert page.status == StepStatus.SENT
    assert [s.level for s in await steps_of(bot, incident, "page") if s.status == "pending"] == [
        "L2"
    ]
    # ... and the invitation is a step of its own, not given up.
    [step] = await steps_of(bot, incident, INVITE)
    assert step.status == StepStatus.PENDING and step.data["users"] == ["UONCALL"]

    await asyncio.sleep(3.2)  # Slack's Retry-After, which the bot must honour
    for _ in range(3):
        await tick(bot, clock, timedelta(seconds=5))
    [step] = await steps_of(bot, incident, INVITE)
    assert step.status == StepStatus.SENT
    assert invited(fake_slack, incident.channel_id)
    assert fake_slack.tiers.retry_after_violations == []


async def test_an_invitation_slack_failed_for_now_is_retried_by_its_step(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    # More 503s than the client retries by itself (conversations.invite is safe to re-send).
    fake_slack.server_error_next(
        "conversations.invite", status=503, times=4, when={"users": "UONCALL"}
    )
    incident = await declare_incident(slack, fake_slack, bot, "P1")
    assert len(dms(fake_slack, "UONCALL")) == 1
    assert not invited(fake_slack, incident.channel_id)
    [step] = await steps_of(bot, incident, INVITE)
    assert step.status == StepStatus.PENDING

    for _ in range(4):
        await tick(bot, clock, timedelta(seconds=30))
    [step] = await steps_of(bot, incident, INVITE)
    assert step.status == StepStatus.SENT
    assert invited(fake_slack, incident.channel_id)
    assert len(dms(fake_slack, "UONCALL")) == 1  # the page itself was not sent again


async def test_an_invitation_left_pending_is_dropped_once_the_incident_is_resolved(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    fake_slack.server_error_next(
        "conversations.invite", status=503, times=4, when={"users": "UONCALL"}
    )
    incident = await declare_incident(slack, fake_slack, bot, "P1")
    await resolve(slack, fake_slack, bot, incident)
    await tick(bot, clock, timedelta(seconds=30))
    [step] = await steps_of(bot, incident, INVITE)
    assert step.status == StepStatus.CANCELLED
    assert not invited(fake_slack, incident.channel_id)
