"""Escalation: `/incident ack`, the Acknowledge button (in the channel and in DMs), and the
snooze buttons of update reminders."""

from __future__ import annotations

from datetime import timedelta

from app.context import BotContext
from app.services import escalation, lookup
from app.services.errors import UserError
from app.slack import errors
from app.slack.buttons import Button, Click
from app.slack.commands import CommandCall

ANNOUNCING = "announcing the acknowledgement"


async def ack_command(call: CommandCall) -> None:
    incident = await lookup.incident_here(
        call.bot, "ack", call.actor, call.first_arg, takes_id=True
    )
    result = await escalation.acknowledge(call.bot, incident, call.user_id)
    await call.ack(result.reply)
    if result.acknowledged:
        call.later(
            escalation.announce_acknowledgement(call.bot, result),
            doing=ANNOUNCING,
            outcome=errors.SAVED,
        )


async def _acknowledge(bot: BotContext, click: Click) -> None:
    incident = await lookup.find_incident(bot, click.actor, public_id=click.value)
    if incident is None:
        raise UserError("That button names no incident; nothing was changed.")
    result = await escalation.acknowledge(bot, incident, click.user_id)
    if not result.acknowledged:
        await errors.tell(bot, click.person, result.reply)
        return
    await errors.guarded(
        bot,
        click.person,
        escalation.announce_acknowledgement(bot, result),
        doing=ANNOUNCING,
        outcome=errors.SAVED,
    )


async def _snooze(bot: BotContext, click: Click) -> None:
    public_id, _, seconds = click.value.partition("|")
    if not seconds.isdigit():
        raise UserError("That snooze button is broken; nothing was changed.")
    if await lookup.find_incident(bot, click.actor, public_id=public_id) is None:
        raise UserError("That snooze button names no incident; nothing was changed.")
    result = await escalation.snooze_reminder(
        bot,
        public_id,
        click.user_id,
        timedelta(seconds=int(seconds)),
        message_channel=click.channel_id,
        message_ts=click.message_ts,
    )
    await errors.tell(bot, click.person, result.reply)


# Answered through the response_url: pages are often DMs, where an ephemeral has no channel.
ACKNOWLEDGE = Button(_acknowledge, "acknowledging the page", by_response_url=True)
SNOOZE = Button(_snooze, "snoozing the reminders", by_response_url=True)
