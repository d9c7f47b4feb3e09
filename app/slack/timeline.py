"""Timeline listeners: emoji reactions, messages posted, edited and deleted, `/incident note`
and `/incident timeline`.

Events are acked by Bolt before these run. Each listener filters in memory first (the emoji,
the subtype, channels known not to be incident channels), so the flood of events from ordinary
channels costs neither a Slack call nor, past one lookup a minute per channel, a database
query, and hands the rest to a service as a background task: new messages to the kept channel
messages (what a later capture reads instead of Slack), reactions, edits and deletions to the
capture service.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest

from app.context import BotContext
from app.domain import captured
from app.domain.command_text import plain_text
from app.domain.slack_ts import is_slack_ts
from app.services import lookup, timeline
from app.services.capture import Capture
from app.services.channel_messages import ChannelMessages, HeardMessage
from app.services.errors import UserError
from app.services.message_events import MessageDeleted, MessageEdited, Reaction
from app.slack import errors
from app.slack.commands import CommandCall
from app.ui.timeline import format_note_echo, timeline_message

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------ commands


async def note_command(call: CommandCall) -> None:
    if not call.args:
        raise UserError("Write the note after the command: `/incident note Rolled back to v42`.")
    incident = await lookup.incident_here(call.bot, call.name, call.actor)
    entry = await timeline.add_note(call.bot, incident.id, call.user_id, plain_text(call.args))
    await call.ack()
    call.later(
        _echo_note(call, entry.id),
        doing="showing your note in the channel",
        outcome="your note is in the timeline",
    )


async def _echo_note(call: CommandCall, entry_id: int) -> None:
    """Show the saved note to the channel (the incident's: it was typed there)."""
    posted = await call.bot.slack.chat_postMessage(
        channel=call.channel_id, text=format_note_echo(call.user_id, plain_text(call.args))
    )
    await timeline.link_message(call.bot, entry_id, posted["ts"])


async def timeline_command(call: CommandCall) -> None:
    page: int | None = None
    if call.args:
        if not call.args.isdigit() or int(call.args) < 1:
            raise UserError("Give a page number: `/incident timeline 2`.")
        page = int(call.args)
    incident = await lookup.incident_here(call.bot, call.name, call.actor)
    entries = await timeline.entries(call.bot, incident.id)
    message = timeline_message(incident, entries, call.bot.settings.tz, page)
    await call.ack(message.text, layout=message.blocks)


# -------------------------------------------------------------------------------- events


def event_id(body: dict[str, Any]) -> str:
    """Slack's id of the delivery; without one (never from Slack), a digest of the event, so
    the same event still counts once."""
    given = body.get("event_id")
    if isinstance(given, str) and given:
        return given[:64]
    digest = hashlib.sha256(json.dumps(body.get("event"), sort_keys=True).encode()).hexdigest()
    return "digest-" + digest[:57]


def _emoji_name(reaction: str) -> str:
    """`thumbsup::skin-tone-2` -> `thumbsup`: a skin tone does not make another emoji."""
    return reaction.split("::", 1)[0]


def parse_reaction(
    body: dict[str, Any], emoji: frozenset[str], *, retry: bool = False
) -> Reaction | None:
    """The reaction if it is a timeline emoji on a message; None for everything else."""
    event = body.get("event") or {}
    item = event.get("item") or {}
    name = _emoji_name(str(event.get("reaction") or ""))
    if name not in emoji or item.get("type") != "message":
        return None
    channel, ts, user = item.get("channel"), item.get("ts"), event.get("user")
    if not (isinstance(channel, str) and isinstance(ts, str) and isinstance(user, str)):
        return None
    if not is_slack_ts(ts):
        return None
    return Reaction(event_id(body), channel, ts, user, name, retry)


def is_retry(request: AsyncBoltRequest) -> bool:
    """Slack redelivers an event it thinks we missed with X-Slack-Retry-Num set."""
    return bool(request.headers.get("x-slack-retry-num"))


# Messages people (or integrations) write, as opposed to joins, topic changes, pins...
POSTED_SUBTYPES = frozenset({None, "bot_message", "file_share", "thread_broadcast", "me_message"})
ID_MAX, NAME_MAX = 32, 255  # the columns of ChannelMessage


def _heard(channel: str, message: dict[str, Any]) -> HeardMessage:
    ts = message["ts"]
    thread_ts = message.get("thread_ts")
    return HeardMessage(
        channel=channel,
        ts=ts,
        user=_text_or_none(message.get("user"), ID_MAX),
        text=str(message.get("text") or ""),
        files=tuple(captured.file_names(message.get("files"))),
        thread_ts=thread_ts if is_slack_ts(thread_ts) and thread_ts != ts else None,
        bot_id=_text_or_none(message.get("bot_id"), ID_MAX),
        username=_text_or_none(message.get("username"), NAME_MAX),
    )


def _text_or_none(value: Any, most: int) -> str | None:
    """A string field as stored (clipped to its column), or None."""
    return value[:most] if isinstance(value, str) and value else None


def parse_posted(body: dict[str, Any]) -> HeardMessage | None:
    """A new message someone wrote; None for every other `message` event."""
    event = body.get("event") or {}
    channel, subtype = event.get("channel"), event.get("subtype")
    if not (subtype is None or isinstance(subtype, str)) or subtype not in POSTED_SUBTYPES:
        return None
    if event.get("hidden") or not isinstance(channel, str) or not is_slack_ts(event.get("ts")):
        return None
    return _heard(channel, event)


def parse_message_change(body: dict[str, Any]) -> MessageEdited | MessageDeleted | None:
    """An edit or deletion of a message; None for new messages and every other subtype."""
    event = body.get("event") or {}
    subtype = event.get("subtype")
    channel = event.get("channel")
    if not isinstance(channel, str):
        return None
    if subtype == "message_changed":
        message = event.get("message") or {}
        if not is_slack_ts(message.get("ts")):
            return None
        edited = message.get("edited") or {}
        return MessageEdited(
            event_id=event_id(body),
            message=_heard(channel, message),
            edit_ts=edited.get("ts") or event.get("event_ts"),
            tombstone=message.get("subtype") == "tombstone",
        )
    if subtype == "message_deleted" and is_slack_ts(event.get("deleted_ts")):
        return MessageDeleted(event_id(body), channel, event["deleted_ts"], event.get("event_ts"))
    return None


@dataclass(frozen=True)
class Watch:
    """What the event listeners filter with, and the service they hand the rest to."""

    capture: Capture
    emoji: frozenset[str]

    @property
    def messages(self) -> ChannelMessages:
        return self.capture.messages

    @classmethod
    def of(cls, bot: BotContext) -> Watch:
        return cls(Capture(bot), frozenset(bot.policy.timeline_emoji))


_AGAIN = "nothing was changed; remove the reaction and add it again"


async def reaction_added(
    bot: BotContext, watch: Watch, body: dict[str, Any], request: AsyncBoltRequest
) -> None:
    reaction = parse_reaction(body, watch.emoji, retry=is_retry(request))
    _hand_over(bot, reaction, watch.capture.reaction_added, "adding that message to the timeline")


async def reaction_removed(bot: BotContext, watch: Watch, body: dict[str, Any]) -> None:
    reaction = parse_reaction(body, watch.emoji)
    _hand_over(
        bot, reaction, watch.capture.reaction_removed, "taking that message out of the timeline"
    )


def _hand_over(
    bot: BotContext,
    reaction: Reaction | None,
    capture: Callable[[Reaction], Coroutine[Any, Any, Any]],
    doing: str,
) -> None:
    """A timeline emoji in a channel that may be an incident's: to the capture service, and
    a failure to the person who reacted."""
    if reaction is None or bot.incident_channels.known_not_incident(reaction.channel):
        return
    errors.after_ack(
        bot,
        errors.Person(reaction.user, reaction.channel),
        capture(reaction),
        doing=doing,
        outcome=_AGAIN,
        name=f"{doing} {reaction.ts}",
    )


async def message_changed(bot: BotContext, watch: Watch, body: dict[str, Any]) -> None:
    """Every `message` event lands here (new messages, edits, joins, bot posts...): all are
    acked; new messages in incident channels are kept, edits and deletions applied. Nobody
    asked the bot for anything: a failure is only logged (and a message not kept is fetched
    from Slack if someone flags it)."""
    posted = parse_posted(body)
    if posted is not None:
        if not bot.incident_channels.known_not_incident(posted.channel):
            doing = f"keeping message {posted.ts}"
            errors.after_ack(bot, None, watch.messages.posted(posted), doing=doing, name=doing)
        return
    change = parse_message_change(body)
    if change is None or bot.incident_channels.known_not_incident(change.channel):
        return
    if isinstance(change, MessageEdited):
        work, doing = watch.capture.message_edited(change), f"capturing the edit of {change.ts}"
    else:
        work, doing = (
            watch.capture.message_deleted(change),
            f"capturing the deletion of {change.ts}",
        )
    errors.after_ack(bot, None, work, doing=doing, name=doing)
