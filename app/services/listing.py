"""`/incident list`: open incidents, most severe first; private ones only for their members."""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError

from app.context import BotContext
from app.services.incidents import policy_of
from app.store import incidents as store
from app.store.models import Incident

log = logging.getLogger(__name__)

MEMBERS_PAGE = 1000


async def is_member(bot: BotContext, channel_id: str, user_id: str) -> bool:
    """Asked of Slack each time: channel membership changes without telling the bot, and a
    private incident must never be listed to someone who left or was never invited."""
    cursor = None
    while True:
        try:
            page = await bot.slack.conversations_members(
                channel=channel_id, limit=MEMBERS_PAGE, cursor=cursor
            )
        except SlackApiError as exc:
            log.warning("members of %s unknown: %s", channel_id, exc.response.get("error"))
            return False
        if user_id in page.get("members", []):
            return True
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return False


async def open_incidents_for(bot: BotContext, user_id: str) -> list[Incident]:
    async with bot.sessions() as session:
        incidents = await store.open_incidents(session)
    private = [i for i in incidents if i.private]
    allowed = await asyncio.gather(
        *(is_member(bot, i.channel_id, user_id) if i.channel_id else _false() for i in private)
    )
    hidden = {i.id for i, ok in zip(private, allowed, strict=True) if not ok}
    visible = [i for i in incidents if i.id not in hidden]
    # Most severe first; among equals, the oldest (it has waited longest) first.
    return sorted(visible, key=lambda i: (_rank(bot, i), i.started_at, i.id))


def _rank(bot: BotContext, incident: Incident) -> int:
    try:
        return policy_of(bot, incident).rank(incident.severity)
    except KeyError:
        return len(bot.policy.severity_keys)


async def _false() -> bool:
    return False
