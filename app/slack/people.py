"""`/incident lead @user`: name the incident lead (incident commander)."""

from __future__ import annotations

from app.domain.command_text import parse_user_mention
from app.services import roles
from app.services.errors import UserError
from app.slack.commands import COMMANDS, CommandCall
from app.slack.common import incident_here


@COMMANDS.command("lead", "lead @user", "Name the incident lead; they are invited to the channel.")
async def _lead(call: CommandCall) -> None:
    incident = await incident_here(call)
    lead_id = parse_user_mention(call.args)
    if lead_id is None:
        raise UserError("Name one person with a mention: `/incident lead @name`.")
    outcome = await roles.assign_lead(call.bot, incident.id, lead_id, call.user_id)
    await call.ack(outcome.message)
    if not outcome.changed:
        return

    async def publish() -> None:
        problem = await roles.lead_published(call.bot, outcome.incident, call.user_id)
        if problem:
            await call.respond(problem)

    call.bot.tasks.spawn(publish(), name=f"lead {incident.public_id}")
