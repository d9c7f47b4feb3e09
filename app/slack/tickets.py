"""`/incident ticket`: open the incident's ticket in the team's tracker now, or say where it is.

Typed in an incident channel, or anywhere with the incident's id (`/incident ticket INC-…`),
by anyone who may act on the incident (the one rule of `app.services.authorization`). The
answer waits for the tracker (the ticket step runs at once), so it comes after the ack,
through the command's response_url.
"""

from __future__ import annotations

from app.services import lookup, tickets
from app.slack.commands import CommandCall


async def ticket_command(call: CommandCall) -> None:
    incident = await lookup.incident_here(
        call.bot, call.name, call.actor, call.first_arg, takes_id=True
    )
    await call.ack()
    call.later(_answer(call, incident.id), doing="opening the incident's ticket")


async def _answer(call: CommandCall, incident_id: int) -> None:
    await call.respond(await tickets.request_ticket(call.bot, incident_id, call.user_id))
