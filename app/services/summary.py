"""One summary per incident, kept current in place: the pinned message, the channel topic and
the announcement are edited (chat.update, conversations.setTopic), never posted again."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from weakref import WeakKeyDictionary

from slack_sdk.errors import SlackApiError

from app.context import BotContext
from app.services.incidents import policy_of
from app.store import action_items
from app.store.models import Incident
from app.ui import blocks

log = logging.getLogger(__name__)

# One refresh at a time per incident, so an older state never overwrites a newer one. Locks
# belong to the event loop they were made on.
_locks: WeakKeyDictionary[asyncio.AbstractEventLoop, defaultdict[int, asyncio.Lock]] = (
    WeakKeyDictionary()
)


def _lock(incident_id: int) -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    per_loop = _locks.setdefault(loop, defaultdict(asyncio.Lock))
    return per_loop[incident_id]


async def refresh_summary(bot: BotContext, incident: Incident) -> None:
    """Bring the pinned summary and the channel topic up to date with the store.

    The incident is read again inside the lock, so whatever called this last, Slack ends up
    showing the newest state. Slack errors are logged, not raised: the change is already saved
    and the next refresh repairs the view.
    """
    async with _lock(incident.id):
        async with bot.sessions() as session:
            current = await session.get(Incident, incident.id)
            if current is None:
                return
            items = await action_items.for_incident(session, current.id)
        policy = policy_of(bot, current)
        if current.channel_id and current.summary_ts:
            message = blocks.summary_message(current, policy, bot.settings.tz, items)
            try:
                await bot.slack.chat_update(
                    channel=current.channel_id,
                    ts=current.summary_ts,
                    text=message.text,
                    blocks=message.blocks,
                )
            except SlackApiError as exc:
                log.error(
                    "summary of %s not updated: %s", current.public_id, exc.response.get("error")
                )
        if current.channel_id and current.topic_set:
            await _set_topic(bot, current, blocks.channel_topic(current, policy))


async def _set_topic(bot: BotContext, incident: Incident, topic: str) -> None:
    """Set the topic only when it differs: Slack posts "set the channel topic" every time."""
    try:
        info = await bot.slack.conversations_info(channel=incident.channel_id)
        if info["channel"].get("topic", {}).get("value") == topic:
            return
        await bot.slack.conversations_setTopic(channel=incident.channel_id, topic=topic)
    except SlackApiError as exc:
        log.error("topic of %s not updated: %s", incident.public_id, exc.response.get("error"))


async def refresh_announcement(bot: BotContext, incident: Incident) -> None:
    """Edit the broadcast announcement so it tells the incident's current severity and state."""
    if not (incident.announcement_channel and incident.announcement_ts):
        return
    message = blocks.announcement(incident, policy_of(bot, incident))
    try:
        await bot.slack.chat_update(
            channel=incident.announcement_channel,
            ts=incident.announcement_ts,
            text=message.text,
            blocks=message.blocks,
        )
    except SlackApiError as exc:
        log.error(
            "announcement of %s not updated: %s", incident.public_id, exc.response.get("error")
        )
