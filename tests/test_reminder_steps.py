"""Review and overdue action-item reminders go through the escalation engine's durable rows:
planned on resolve or on a due date, sent by the scheduler's tick, planned again until done."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.clock import ManualClock
from app.context import BotContext
from app.domain import reminders
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services.engine import run_due_steps
from app.store.models import ScheduledStep, StepStatus
from tests.running import click, command, declare, resolve


async def steps_of(bot: BotContext, kind: str) -> list[ScheduledStep]:
    async with bot.sessions() as session:
        stmt = select(ScheduledStep).where(ScheduledStep.kind == kind).order_by(ScheduledStep.id)
        return list((await session.execute(stmt)).scalars())


async def test_resolving_plans_review_reminders_that_the_tick_sends_until_held(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await resolve(slack, fake_slack, bot, incident)
    [first] = await steps_of(bot, "review_reminder")
    assert first.status == StepStatus.PENDING
    assert first.due_at == clock.now() + timedelta(hours=24)  # halfway through 48 h

    clock.advance(timedelta(hours=24))
    await run_due_steps(bot)
    posted = fake_slack.messages[incident.channel_id][-1]
    assert "review" in posted["text"].lower() and "<@UREPORTER>" in posted["text"]
    sent, following = await steps_of(bot, "review_reminder")
    assert sent.status == StepStatus.SENT and following.status == StepStatus.PENDING
    assert following.due_at == first.due_at + timedelta(hours=24)  # the deadline

    await click(slack, bot, posted, "Mark review held")
    clock.advance(timedelta(hours=24))
    count = len(fake_slack.calls_to("chat.postMessage"))
    await run_due_steps(bot)
    assert len(fake_slack.calls_to("chat.postMessage")) == count  # held: nothing more
    assert [s.status for s in await steps_of(bot, "review_reminder")][-1] != StepStatus.PENDING


async def test_an_overdue_action_item_is_reminded_to_its_owner_by_the_tick(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    incident = await declare(slack, fake_slack, bot)
    await command(
        slack,
        bot,
        "action Add a webhook alert <@UOTHER|other> due 2026-11-30",
        channel=incident.channel_id,
    )
    [step] = await steps_of(bot, "action_item_reminder")
    due = reminders.first_action_item_reminder_at(step.due_at.date(), bot.settings.tz)
    assert step.due_at.isoformat().startswith("2026-12-01T09:00")

    before = len(fake_slack.calls_to("chat.postMessage"))
    clock.set(step.due_at)
    await run_due_steps(bot)
    # Other steps fell due meanwhile (update reminders of the open P1): only one DM to the owner.
    [dm] = [c for c in fake_slack.calls_to("chat.postMessage")[before:] if c["channel"] == "UOTHER"]
    assert "Add a webhook alert" in dm["text"]
    sent, following = await steps_of(bot, "action_item_reminder")
    assert sent.status == StepStatus.SENT
    assert following.due_at == step.due_at + timedelta(days=1)
    assert due >= step.due_at
