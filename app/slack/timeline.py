"""Timeline listeners: emoji reactions, message edits and deletions, `/incident note` and
`/incident timeline`.

Events are acked by Bolt before these run. Each listener filters in memory first (the emoji,
the subtype, channels known not to be incident channels), so the flood of events from ordinary
channels costs neither a database query nor a Slack call, and hands the rest to the capture
service as a background task.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError

from app.context import BotContext
from app.domain import captured
from app.domain.slack_ts import is_slack_ts
from app.services import timeline
from app.services.capture import Capture, MessageDeleted, MessageEdited, Reaction
from app.services.errors import UserError
from app.slack.commands import COMMANDS, CommandCall
from app.store import incidents as store
from app.store.models import Incident
from app.ui.timeline_view import format_note_echo, timeline_message

log = logging.getLogger(__name__)

NOT_AN_INCIDENT_CHANNEL = (
    "This is not an incident channel. Run `/incident {name}` in the channel of the incident "
    "(its name starts with `incident-`)."
)


async def _incident_here(call: CommandCall) -> Incident:
    async with call.bot.sessions() as session:
        incident = await store.by_channel(session, call.channel_id)
    if incident is None:
        raise UserError(NOT_AN_INCIDENT_CHANNEL.format(name=call.name))
    return incident


@COMMANDS.command("note", "note <text>", "Add a note to the incident's timeline.")
async def _note(call: CommandCall) -> None:
    if not call.args:
        raise UserError("Write the note after the command: `/incident note Rolled back to v42`.")
    incident = await _incident_here(call)
    entry = await timeline.add_note(call.bot, incident.id, call.user_id, call.args)
    await call.ack()
    call.bot.tasks.spawn(_echo_note(call, incident, entry.id), name=f"note {incident.public_id}")


async def _echo_note(call: CommandCall, incident: Incident, entry_id: int) -> None:
    """Show the saved note to the channel; a failure is told to its author, the note stays."""
    try:
        posted = await call.bot.slack.chat_postMessage(
            channel=incident.channel_id, text=format_note_echo(call.user_id, call.args)
        )
    except SlackApiError as exc:
        log.warning("note echo in %s failed: %s", incident.public_id, exc.response.get("error"))
        await call.respond(
            "Your note is in the timeline, but I could not show it in the channel "
            f"({exc.response.get('error')})."
        )
        return
    await timeline.link_message(call.bot, entry_id, posted["ts"])


@COMMANDS.command("timeline", "timeline [page]", "Show the incident's timeline (only you see it).")
async def _timeline(call: CommandCall) -> None:
    page: int | None = None
    if call.args:
        if not call.args.isdigit() or int(call.args) < 1:
            raise UserError("Give a page number: `/incident timeline 2`.")
        page = int(call.args)
    incident = await _incident_here(call)
    entries = await timeline.entries(call.bot, incident.id)
    message = timeline_message(incident, entries, call.bot.settings.tz, page)
    await call.ack(message.text, layout=message.blocks)


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
    if not (isinstance(channel, str) and is_slack_ts(ts) and isinstance(user, str)):
        return None
    return Reaction(event_id(body), channel, ts, user, name, retry)


def is_retry(request: AsyncBoltRequest) -> bool:
    """Slack redelivers an event it thinks we missed with X-Slack-Retry-Num set."""
    return bool(request.headers.get("x-slack-retry-num"))


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
            channel=channel,
            ts=message["ts"],
            text=str(message.get("text") or ""),
            files=tuple(captured.file_names(message.get("files"))),
            edit_ts=edited.get("ts") or event.get("event_ts"),
            tombstone=message.get("subtype") == "tombstone",
        )
    if subtype == "message_deleted" and is_slack_ts(event.get("deleted_ts")):
        return MessageDeleted(event_id(body), channel, event["deleted_ts"], event.get("event_ts"))
    return None


def register(app: AsyncApp, bot: BotContext) -> None:
    capture = Capture(bot)
    emoji = frozenset(bot.policy.timeline_emoji)

    @app.event("reaction_added")
    async def reaction_added(body: dict[str, Any], request: AsyncBoltRequest) -> None:
        reaction = parse_reaction(body, emoji, retry=is_retry(request))
        if reaction is None or bot.incident_channels.known_not_incident(reaction.channel):
            return
        bot.tasks.spawn(capture.reaction_added(reaction), name=f"capture {reaction.ts}")

    @app.event("reaction_removed")
    async def reaction_removed(body: dict[str, Any]) -> None:
        reaction = parse_reaction(body, emoji)
        if reaction is None or bot.incident_channels.known_not_incident(reaction.channel):
            return
        bot.tasks.spawn(capture.reaction_removed(reaction), name=f"uncapture {reaction.ts}")

    @app.event("message")
    async def message(body: dict[str, Any]) -> None:
        # Every subtype lands here (new messages, joins, bot posts...): all are acked, and only
        # edits and deletions of captured messages matter.
        change = parse_message_change(body)
        if change is None or bot.incident_channels.known_not_incident(change.channel):
            return
        if isinstance(change, MessageEdited):
            bot.tasks.spawn(capture.message_edited(change), name=f"edit {change.ts}")
        else:
            bot.tasks.spawn(capture.message_deleted(change), name=f"delete {change.ts}")
