"""Slash commands and Events API callbacks, in the shapes Slack publishes: command text escaped
as Slack escapes it, the event envelope, reactions and messages (new, edited, deleted)."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Mapping
from typing import Any

from app.sandbox.fakeslack import FakeSlack
from app.sandbox.fakeslack.state import APP_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID
from app.sandbox.identity import (
    ENTERPRISE_ID,
    ENTERPRISE_NAME,
    EVENT_CONTEXT,
    VERIFICATION_TOKEN,
    NotOffered,
    response_url,
)

_FORMATTED = re.compile(r"<[@#!][^<>]*>")


_HANDLE = re.compile(r"(?<![\w<|])([@#])([\w.\-]+)")


def escape_text(fake: FakeSlack, text: str) -> str:
    """Command text as Slack sends it with `should_escape: true`.

    `&`, `<` and `>` become entities; `@name` of a member becomes `<@U…|name>`, `@handle` of a
    user group `<!subteam^S…|@handle>`, `#name` of a channel `<#C…|name>`. Text a test already
    wrote in Slack's escaped form (`<@U…|name>`) is kept as it is.
    """
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"\x00{len(kept) - 1}\x00"

    text = _FORMATTED.sub(keep, text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def mention(match: re.Match[str]) -> str:
        sigil, name = match.groups()
        if sigil == "#":
            channel = fake.channel_by_name(name)
            return f"<#{channel.id}|{name}>" if channel else match.group(0)
        member = next((u for u in fake.users.values() if u.name == name), None)
        if member is not None:
            return f"<@{member.id}|{name}>"
        group = next((g for g in fake.usergroups.values() if g.handle == name), None)
        if group is not None:
            return f"<!subteam^{group.id}|@{name}>"
        return match.group(0)

    text = _HANDLE.sub(mention, text)
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], text)


def slash_command(
    fake: FakeSlack,
    text: str,
    *,
    user_id: str,
    channel_id: str,
    command: str = "/incident",
    trigger_id: str | None = None,
) -> dict[str, str]:
    """The form fields of a slash command typed by `user_id` in `channel_id`."""
    member = fake.users.get(user_id)
    if member is None:
        raise NotOffered(f"{user_id} is not a member of the fake workspace")
    channel = fake.channels.get(channel_id)
    if channel is None:
        channel_name = "privategroup" if channel_id.startswith("G") else "general"
    else:
        channel_name = "directmessage" if channel.is_im else channel.name
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "enterprise_id": ENTERPRISE_ID,
        "enterprise_name": ENTERPRISE_NAME,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": member.name,
        "command": command,
        "text": escape_text(fake, text),
        "response_url": response_url(fake),
        "trigger_id": trigger_id if trigger_id is not None else fake.new_trigger_id(),
        "api_app_id": APP_ID,
    }


def event_callback(
    event: dict[str, Any], *, event_id: str | None = None, event_time: int | None = None
) -> dict[str, Any]:
    """The Events API envelope around `event`, with everything Slack puts in it."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "context_team_id": TEAM_ID,
        "context_enterprise_id": None,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
        "event_time": event_time if event_time is not None else int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": EVENT_CONTEXT,
    }


def channel_type(fake: FakeSlack, channel_id: str) -> str:
    channel = fake.channels.get(channel_id)
    if channel is None:
        return "channel"
    if channel.is_im:
        return "im"
    return "group" if channel.is_private else "channel"


def rich_text(text: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "rich_text",
            "block_id": secrets.token_hex(2),
            "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
            ],
        }
    ]


def event_ts() -> str:
    return f"{time.time():.6f}"


def reaction_event(
    fake: FakeSlack, channel_id: str, ts: str, emoji: str, *, user_id: str, added: bool = True
) -> dict[str, Any]:
    """`reaction_added`/`reaction_removed` for a message the fake holds (its author included)."""
    stored = fake.state.find_message(channel_id, ts)
    if stored is None:
        raise NotOffered(f"no message {ts} in {channel_id}")
    return {
        "type": "reaction_added" if added else "reaction_removed",
        "user": user_id,
        "reaction": emoji,
        "item_user": stored.get("user", ""),
        "item": {"type": "message", "channel": channel_id, "ts": ts},
        "event_ts": event_ts(),
    }


def message_event(fake: FakeSlack, channel_id: str, ts: str) -> dict[str, Any]:
    """The `message` event for a person's message the fake holds."""
    stored = fake.state.find_message(channel_id, ts)
    if stored is None:
        raise NotOffered(f"no message {ts} in {channel_id}")
    event: dict[str, Any] = {
        "client_msg_id": client_msg_id(channel_id, ts),
        "type": "message",
        "text": stored.get("text", ""),
        "user": stored.get("user", ""),
        "ts": ts,
        "blocks": stored.get("blocks") or rich_text(stored.get("text", "")),
        "team": TEAM_ID,
        "channel": channel_id,
        "event_ts": ts,
        "channel_type": channel_type(fake, channel_id),
    }
    for key in ("thread_ts", "files", "subtype", "bot_id"):
        if key in stored:
            event[key] = stored[key]
    return event


def client_msg_id(channel_id: str, ts: str) -> str:
    """The id a person's Slack client gives a message it sends (stable for one message)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{channel_id}/{ts}"))


def person_message(channel_id: str, message: Mapping[str, Any]) -> dict[str, Any]:
    """A person's message as Slack carries it inside `message_changed`."""
    out: dict[str, Any] = {
        "client_msg_id": client_msg_id(channel_id, message["ts"]),
        "type": "message",
        "text": message.get("text", ""),
        "user": message.get("user", ""),
        "ts": message["ts"],
        "team": TEAM_ID,
        "blocks": message.get("blocks") or rich_text(message.get("text", "")),
    }
    for key in ("subtype", "hidden", "edited", "thread_ts", "files", "attachments"):
        if key in message:
            out[key] = message[key]
    return out


def message_changed_event(
    fake: FakeSlack, channel_id: str, change: dict[str, Any]
) -> dict[str, Any]:
    """`message_changed` for an edit made with `FakeSlack.edit_message` (what it returned)."""
    message = {
        **person_message(channel_id, change["message"]),
        "source_team": TEAM_ID,
        "user_team": TEAM_ID,
    }
    edited_ts = message.get("edited", {}).get("ts") or event_ts()
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": message,
        "previous_message": person_message(channel_id, change["previous_message"]),
        "channel": channel_id,
        "hidden": True,
        "ts": edited_ts,
        "event_ts": edited_ts,
        "channel_type": channel_type(fake, channel_id),
    }


def message_deleted_event(
    fake: FakeSlack, channel_id: str, previous: dict[str, Any]
) -> dict[str, Any]:
    """`message_deleted` for a message removed with `FakeSlack.delete_message`."""
    ts = event_ts()
    return {
        "type": "message",
        "subtype": "message_deleted",
        "previous_message": {
            "type": "message",
            "text": previous.get("text", ""),
            "user": previous.get("user", ""),
            "team": TEAM_ID,
            "ts": previous["ts"],
        },
        "channel": channel_id,
        "hidden": True,
        "deleted_ts": previous["ts"],
        "event_ts": ts,
        "ts": ts,
        "channel_type": channel_type(fake, channel_id),
    }


def app_home_opened_event(fake: FakeSlack, user_id: str, tab: str = "home") -> dict[str, Any]:
    """`app_home_opened` as Slack sends it when `user_id` opens the app's Home (or Messages)
    tab: the channel is the bot's IM with them, and `view` is the Home view published for
    them before, when there is one (Slack leaves it out otherwise)."""
    channel, _created = fake.state.open_im(user_id)
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel.id,
        "tab": tab,
        "event_ts": event_ts(),
    }
    published = fake.state.views.get(fake.state.home_views.get(user_id, ""))
    if published is not None and tab == "home":
        event["view"] = published
    return event
