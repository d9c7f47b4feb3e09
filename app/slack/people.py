"""`/incident lead @user`: name the incident lead (incident commander)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.domain.command_text import parse_user_mention
from app.services import lookup, roles
from app.services.errors import UserError
from app.slack import errors
from app.slack.commands import CommandCall

if TYPE_CHECKING:
    from app.store.models import Incident


async def lead_command(call: CommandCall) -> None:
    incident = await lookup.incident_here(call.bot, call.name, call.actor)
    lead_id = parse_user_mention(call.args)
    if lead_id is None:
        raise UserError("Name one person with a mention: `/incident lead @name`.")
    outcome = await roles.assign_lead(call.bot, incident.id, lead_id, call.user_id)
    await call.ack(outcome.message)
    if outcome.changed:
        call.later(
            _publish(call, outcome.incident), doing="showing the new lead", outcome=errors.SAVED
        )


async def _publish(call: CommandCall, incident: Incident) -> None:
    problem = await roles.lead_published(call.bot, incident, call.user_id)
    if problem:
        await call.respond(problem)
