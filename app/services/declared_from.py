"""Pointing a reporter from where they declared to the incident's channel.

Someone who runs `/incident declare` in #random (and no INCIDENTS_CHANNEL announces it) would
otherwise not learn where the incident went. The channel they declared from is saved with the
incident (`remember`); once the incident's channel exists, `point_reporter` tells them there,
ephemerally (chat.postEphemeral), once. Where the bot cannot post (a channel it is not in, a
DM with someone else) they get a DM instead; if that fails too, the claim is released so the
next call (a retried setup) tries again.
"""

from __future__ import annotations

import logging

from sqlalchemy import update

from app.context import BotContext
from app.services.slack_errors import slack_error
from app.store.db import changed_rows
from app.store.models import Incident
from app.ui.messages import declared_elsewhere

log = logging.getLogger(__name__)


async def remember(bot: BotContext, incident_id: int, channel_id: str) -> None:
    """Save the channel the incident was declared from (the first one given wins)."""
    async with bot.sessions.begin() as session:
        await changed_rows(
            session,
            update(Incident)
            .where(Incident.id == incident_id, Incident.declared_from.is_(None))
            .values(declared_from=channel_id),
        )


async def point_reporter(bot: BotContext, incident_id: int) -> bool:
    """Tell the reporter where the incident is, in the channel they declared from, if it has
    a channel by now and they were not told yet. Safe to call from anywhere, any number of
    times (after the channel is created, after a setup): it tells once. True if told now."""
    now = bot.clock.now()
    async with bot.sessions.begin() as session:
        incident = await session.get(Incident, incident_id)
        if (
            incident is None
            or not incident.channel_id
            or not incident.declared_from
            or incident.declared_from == incident.channel_id
            or incident.declared_from_told_at is not None
        ):
            return False
        claimed = await changed_rows(
            session,
            update(Incident)
            .where(Incident.id == incident_id, Incident.declared_from_told_at.is_(None))
            .values(declared_from_told_at=now),
        )
    if not claimed:
        return False
    if await _tell(bot, incident):
        return True
    async with bot.sessions.begin() as session:
        await changed_rows(
            session,
            update(Incident).where(Incident.id == incident_id).values(declared_from_told_at=None),
        )
    return False


async def _tell(bot: BotContext, incident: Incident) -> bool:
    message = declared_elsewhere(incident)
    try:
        await bot.slack.chat_postEphemeral(
            channel=incident.declared_from,  # type: ignore[arg-type]
            user=incident.reporter_id,
            text=message.text,
            blocks=message.blocks,
        )
        return True
    except Exception as exc:  # noqa: BLE001 - whatever stopped it, the DM is the way left
        log.info(
            "no ephemeral for %s in %s (%s): a DM instead",
            incident.reporter_id,
            incident.declared_from,
            slack_error(exc),
        )
    try:
        await bot.slack.chat_postMessage(
            channel=incident.reporter_id, text=message.text, blocks=message.blocks
        )
        return True
    except Exception as exc:  # noqa: BLE001 - released by the caller for the next try
        log.error(
            "could not tell %s where %s is: %s",
            incident.reporter_id,
            incident.public_id,
            slack_error(exc),
        )
        return False
