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
from app.store import action_items, tickets
from app.store.models import Incident
from app.ui.common import Message
from app.ui.summary import announcement, channel_topic, summary_message

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

    The incident is read again inside the lock (with its action items and tickets, in one
    session), so whatever called this last, Slack ends up showing the newest state. Slack
    errors are logged, not raised: the change is already saved and the next refresh repairs
    the view.
    """
    async with _lock(incident.id):
        async with bot.sessions() as session:
            current = await session.get(Incident, incident.id)
            if current is None:
                return
            items = await action_items.for_incident(session, current.id)
            ticket_rows = await tickets.for_incident(session, current.id)
        policy = policy_of(bot, current)
        if current.channel_id and current.summary_ts:
            message = summary_message(current, policy, bot.settings.tz, items, ticket_rows)
            await _edit(bot, current, "summary", current.channel_id, current.summary_ts, message)
        if current.channel_id and current.topic_set:
            await _set_topic(bot, current, current.channel_id, channel_topic(current, policy))


async def _edit(
    bot: BotContext, incident: Incident, what: str, channel: str, ts: str, message: Message
) -> None:
    """Edit one of the incident's messages in place; a refusal is logged, not raised."""
    try:
        await bot.slack.chat_update(
            channel=channel, ts=ts, text=message.text, blocks=message.blocks
        )
    except SlackApiError as exc:
        log.error("%s of %s not updated: %s", what, incident.public_id, exc.response.get("error"))


async def _set_topic(bot: BotContext, incident: Incident, channel: str, topic: str) -> None:
    """Set the topic only when it differs: Slack posts "set the channel topic" every time."""
    try:
        info = await bot.slack.conversations_info(channel=channel)
        if info["channel"].get("topic", {}).get("value") == topic:
            return
        await bot.slack.conversations_setTopic(channel=channel, topic=topic)
    except SlackApiError as exc:
        log.error("topic of %s not updated: %s", incident.public_id, exc.response.get("error"))


async def refresh_announcement(bot: BotContext, incident: Incident) -> None:
    """Edit the broadcast announcement so it tells the incident's current severity and state."""
    if not (incident.announcement_channel and incident.announcement_ts):
        return
    message = announcement(incident, policy_of(bot, incident))
    channel, ts = incident.announcement_channel, incident.announcement_ts
    await _edit(bot, incident, "announcement", channel, ts, message)
