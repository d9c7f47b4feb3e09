"""The incident lead (incident commander): one person, invited to the channel and told."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from app.context import BotContext
from app.domain.text import mrkdwn
from app.domain.timeline import Kind
from app.services.errors import UserError
from app.services.incidents import Outcome, changing
from app.services.summary import refresh_summary
from app.store.models import Incident

log = logging.getLogger(__name__)


async def assign_lead(bot: BotContext, incident_id: int, lead_id: str, actor_id: str) -> Outcome:
    if lead_id == await bot.bot_user_id():
        raise UserError("The bot cannot lead an incident; name a person. Nothing was changed.")
    async with changing(bot, incident_id) as change:
        incident = change.incident
        if incident.lead_id == lead_id:
            return Outcome(incident, False, f"<@{lead_id}> already leads {incident.public_id}.")
        previous = incident.lead_id
        incident.lead_id = lead_id
        change.record(
            Kind.LEAD_ASSIGNED,
            actor_id=actor_id,
            text=f"<@{lead_id}> is the incident lead"
            + (f" (was <@{previous}>)" if previous else ""),
            data={"lead": lead_id, "previous": previous},
        )
    return Outcome(incident, True, f"<@{lead_id}> now leads {incident.public_id}.")


async def lead_published(bot: BotContext, incident: Incident, actor_id: str) -> str | None:
    """Invite the lead, show them on the summary, and tell them. Returns a problem to report
    to the person who named the lead, or None."""
    problem = None
    lead = incident.lead_id
    if incident.channel_id and lead:
        try:
            await bot.slack.conversations_invite(channel=incident.channel_id, users=lead)
            bot.directory.forget(incident.channel_id)  # the lead may act at once
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error != "already_in_channel":
                log.error("could not invite lead %s to %s: %s", lead, incident.public_id, error)
                problem = (
                    f"<@{lead}> is the lead, but could not be invited to the channel ({error}). "
                    "Invite them by hand."
                )
    await refresh_summary(bot, incident)
    if lead and lead != actor_id:
        try:
            await bot.slack.chat_postMessage(
                channel=lead,
                text=f":technologist: <@{actor_id}> made you the lead of {incident.public_id} "
                f"({incident.severity}: {mrkdwn(incident.title)}) in <#{incident.channel_id}>.",
            )
        except SlackApiError as exc:
            log.warning("lead %s not told: %s", lead, exc.response.get("error"))
    return problem
