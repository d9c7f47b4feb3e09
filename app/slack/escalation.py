"""Listeners for escalation: the Acknowledge button (in the channel and in DMs), `/incident ack`,
and the snooze buttons of update reminders."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from app.context import BotContext
from app.domain.naming import parse_incident_id
from app.services import escalation
from app.services.errors import UserError
from app.slack.commands import COMMANDS, CommandCall
from app.store import incidents as store
from app.store.models import Incident
from app.ui.escalation_blocks import ACK_ACTION, SNOOZE_ACTION

log = logging.getLogger(__name__)


async def find_incident(bot: BotContext, args: str, channel_id: str) -> Incident:
    """The incident named in `args`, else the one whose channel this is; UserError otherwise."""
    word = args.split()[0] if args.split() else ""
    async with bot.sessions() as session:
        if word:
            if parse_incident_id(word) is None:
                raise UserError(f"`{word}` is not an incident id like INC-20261128-001.")
            incident = await store.by_public_id(session, word)
            if incident is None:
                raise UserError(f"No incident {word.upper()}.")
            return incident
        incident = await store.by_channel(session, channel_id)
    if incident is None:
        raise UserError(
            "This is not an incident channel. Run it in the incident's channel, or give the "
            "id: `/incident ack INC-…`."
        )
    return incident


@COMMANDS.command("ack", "ack [INC-id]", "Acknowledge the page: stops the escalation.")
async def _ack(call: CommandCall) -> None:
    incident = await find_incident(call.bot, call.args, call.channel_id)
    result = await escalation.acknowledge(call.bot, incident, call.user_id)
    await call.ack(result.reply)
    if result.acknowledged:
        call.bot.tasks.spawn(
            escalation.announce_acknowledgement(call.bot, result),
            name=f"announce ack {incident.public_id}",
        )


async def _ephemeral(respond: AsyncRespond, text: str) -> None:
    await respond(response_type="ephemeral", text=text, replace_original=False)


def register(app: AsyncApp, bot: BotContext) -> None:
    @app.action(ACK_ACTION)
    async def ack_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        public_id = str(body["actions"][0].get("value") or "")
        user_id = body["user"]["id"]
        bot.tasks.spawn(acknowledge(public_id, user_id, respond), name=f"ack {public_id}")

    async def acknowledge(public_id: str, user_id: str, respond: AsyncRespond) -> None:
        try:
            incident = await find_incident(bot, public_id, "")
            result = await escalation.acknowledge(bot, incident, user_id)
        except UserError as exc:
            await _ephemeral(respond, str(exc))
            return
        if result.acknowledged:
            await escalation.announce_acknowledgement(bot, result)
        else:
            await _ephemeral(respond, result.reply)

    @app.action(re.compile(f"^{SNOOZE_ACTION}_"))
    async def snooze_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        bot.tasks.spawn(snooze(body, respond), name="snooze reminder")

    async def snooze(body: dict[str, Any], respond: AsyncRespond) -> None:
        value = str(body["actions"][0].get("value") or "")
        public_id, _, seconds = value.partition("|")
        try:
            if not seconds.isdigit():
                raise UserError("That snooze button is broken; nothing was changed.")
            result = await escalation.snooze_reminder(
                bot,
                public_id,
                body["user"]["id"],
                timedelta(seconds=int(seconds)),
                message_channel=(body.get("channel") or {}).get("id"),
                message_ts=(body.get("message") or {}).get("ts"),
            )
        except UserError as exc:
            await _ephemeral(respond, str(exc))
            return
        await _ephemeral(respond, result.reply)
