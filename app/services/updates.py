"""Status updates: recorded, posted in the channel, and broadcast for public incidents."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from app.context import BotContext
from app.domain.timeline import Kind
from app.services import events
from app.services.errors import UserError
from app.services.incidents import changing
from app.store.models import Incident
from app.ui import messages

log = logging.getLogger(__name__)

UPDATE_MAX = 2500


async def record_update(bot: BotContext, incident_id: int, text: str, actor_id: str) -> Incident:
    text = text.strip()
    if not text:
        raise UserError("Say what changed: `/incident update <text>`.")
    if len(text) > UPDATE_MAX:
        raise UserError(f"The update is {len(text)} characters; keep it to {UPDATE_MAX}.")
    async with changing(bot, incident_id) as change:
        change.record(
            Kind.UPDATE,
            actor_id=actor_id,
            text=f"Status update: {text}",
            data={"update": text},
        )
    return change.incident


async def publish_update(bot: BotContext, incident: Incident, text: str, actor_id: str) -> None:
    """Post in the incident channel, then (public incidents only) in INCIDENTS_CHANNEL, as a
    reply to the announcement that is also shown in the channel. Raises on the channel post:
    an update nobody sees must be reported to its author."""
    text = text.strip()
    if incident.channel_id:
        message = messages.status_update(incident, text, actor_id, broadcast=False)
        await bot.slack.chat_postMessage(
            channel=incident.channel_id, text=message.text, blocks=message.blocks
        )
    broadcast_to = bot.settings.incidents_channel
    if broadcast_to and not incident.private:
        message = messages.status_update(incident, text, actor_id, broadcast=True)
        thread = incident.announcement_ts if incident.announcement_channel == broadcast_to else None
        try:
            await bot.slack.chat_postMessage(
                channel=broadcast_to,
                text=message.text,
                blocks=message.blocks,
                thread_ts=thread,
                reply_broadcast=bool(thread),
            )
        except SlackApiError as exc:
            log.error(
                "update of %s not broadcast: %s", incident.public_id, exc.response.get("error")
            )
    await events.publish(bot, events.StatusUpdated(incident))
