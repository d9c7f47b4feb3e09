"""`/incident list`: open incidents, most severe first, as far as this person may see them
(`app.services.authorization.visible_to`: private ones and, for guests, every one only for the
members of their channels)."""

from __future__ import annotations

from app.context import BotContext
from app.services.authorization import Visible, visible_to
from app.services.incidents import policy_of
from app.store import incidents as store
from app.store.models import Incident


async def open_incidents_for(bot: BotContext, user_id: str) -> Visible:
    async with bot.sessions() as session:
        incidents = await store.open_incidents(session)
    # Most severe first; among equals, the oldest (it has waited longest) first.
    ordered = sorted(incidents, key=lambda i: (_rank(bot, i), i.started_at, i.id))
    return await visible_to(bot, ordered, user_id)


def _rank(bot: BotContext, incident: Incident) -> int:
    try:
        return policy_of(bot, incident).rank(incident.severity)
    except KeyError:
        return len(bot.policy.severity_keys)
