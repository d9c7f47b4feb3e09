"""The pinned summary says who acknowledged and when, and stops showing the escalation path once
it no longer applies (acknowledged, or resolved): it is refreshed by the real app on each."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.clock import ManualClock
from app.context import BotContext
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.store.models import Incident
from tests.conftest import ROOT
from tests.running import click, declare, resolve, summary, summary_text

pytestmark = pytest.mark.policy(str(ROOT / "tests" / "policies" / "escalation.yml"))


def fields(fake: FakeSlack, incident: Incident) -> str:
    """The summary's blocks as JSON, with its line breaks read back."""
    return summary_text(fake, incident).replace("\\n", "\n")


async def test_acknowledging_shows_who_and_when_and_drops_the_escalation_line(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P0")
    assert "until someone acknowledges" in fields(fake_slack, incident)

    clock.advance(timedelta(minutes=4))
    await click(slack, bot, summary(fake_slack, incident), "Acknowledge", user="UONCALL")

    shown = fields(fake_slack, incident)
    assert "*Acknowledged*\n<@UONCALL> 2026-11-28 09:04 UTC" in shown
    assert "Escalation for" not in shown and "until someone acknowledges" not in shown
    assert "Required actions for P0" in shown  # the rest of the summary stays


async def test_resolving_unacknowledged_drops_the_escalation_line(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P1")
    clock.advance(timedelta(minutes=12))
    await resolve(slack, fake_slack, bot, incident)

    shown = fields(fake_slack, incident)
    assert "Escalation for" not in shown and "*Acknowledged*" not in shown
    assert "*Duration*\n12 minutes" in shown  # not "0 hours 12 minutes"
