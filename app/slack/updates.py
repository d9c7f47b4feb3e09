"""`/incident update` (a status update for the channel and the broadcast channel) and
`/incident list` (the open incidents this person may see)."""

from __future__ import annotations

from app.domain.command_text import plain_text
from app.services import listing, lookup, updates
from app.services.authorization import LIST_UNCHECKED
from app.slack.commands import CommandCall
from app.ui import messages


async def update_command(call: CommandCall) -> None:
    incident = await lookup.incident_here(call.bot, call.name, call.actor)
    text = plain_text(call.args)  # as the person typed it
    incident = await updates.record_update(call.bot, incident.id, text, call.user_id)
    await call.ack()
    call.later(
        updates.publish_update(call.bot, incident, text, call.user_id),
        doing="posting your update",
        outcome="your update is in the timeline",
    )


async def list_command(call: CommandCall) -> None:
    # Private incidents (and every one, for a guest) need a membership check with Slack:
    # answer after the ack.
    await call.ack()
    call.later(_answer_list(call), doing="listing the open incidents")


async def _answer_list(call: CommandCall) -> None:
    found = await listing.open_incidents_for(call.bot, call.user_id)
    text = messages.incident_list(found.incidents, call.bot.clock.now())
    await call.respond(f"{text}\n{LIST_UNCHECKED}" if found.unchecked else text)
