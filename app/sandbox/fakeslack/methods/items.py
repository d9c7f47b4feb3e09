"""Things attached to messages or channels: pins.*, reactions.*, bookmarks.add."""

from __future__ import annotations

import re
import time
from typing import Any

from ..registry import Args, SlackError, api, arg_bool, arg_str
from ..state import BOT_USER_ID, TEAM_ID, SlackState

_EMOJI_NAME = re.compile(r"[a-z0-9_+'-]+(::skin-tone-[2-6])?")


def _message_arg(state: SlackState, args: Args) -> tuple[str, dict[str, Any]]:
    """(channel id, message) named by ``channel`` + ``timestamp``."""
    channel = state.visible_channel(arg_str(args, "channel"))
    ts = arg_str(args, "timestamp")
    if not ts:
        raise SlackError("no_item_specified")
    return channel.id, state.require_message(channel.id, ts)


@api(
    "pins.add",
    errors=(
        "channel_not_found",
        "not_in_channel",
        "no_item_specified",
        "message_not_found",
        "already_pinned",
    ),
)
def pins_add(state: SlackState, args: Args) -> dict[str, Any]:
    state.member_channel(arg_str(args, "channel"))
    channel_id, message = _message_arg(state, args)
    pinned = state.pins.setdefault(channel_id, [])
    if message["ts"] in pinned:
        raise SlackError("already_pinned")
    pinned.append(message["ts"])
    message.setdefault("pinned_to", []).append(channel_id)
    return {}


@api("pins.list", errors=("channel_not_found",))
def pins_list(state: SlackState, args: Args) -> dict[str, Any]:
    channel = state.visible_channel(arg_str(args, "channel"))
    items = []
    for ts in reversed(state.pins.get(channel.id, [])):
        message = state.find_message(channel.id, ts)
        if message is not None:
            rendered = state.render(channel.id, message)
            rendered["permalink"] = state.permalink(channel.id, message)
            items.append(
                {
                    "type": "message",
                    "channel": channel.id,
                    "created_by": BOT_USER_ID,
                    "message": rendered,
                }
            )
    return {"items": items}


@api(
    "pins.remove",
    errors=("channel_not_found", "no_item_specified", "message_not_found", "not_pinned"),
)
def pins_remove(state: SlackState, args: Args) -> dict[str, Any]:
    channel_id, message = _message_arg(state, args)
    pinned = state.pins.get(channel_id, [])
    if message["ts"] not in pinned:
        raise SlackError("not_pinned")
    pinned.remove(message["ts"])
    if channel_id in message.get("pinned_to", []):
        message["pinned_to"].remove(channel_id)
        if not message["pinned_to"]:
            del message["pinned_to"]
    return {}


def _emoji(args: Args) -> str:
    name = arg_str(args, "name")
    if not _EMOJI_NAME.fullmatch(name):
        raise SlackError("invalid_name")
    return name


@api(
    "reactions.add",
    errors=(
        "channel_not_found",
        "no_item_specified",
        "message_not_found",
        "invalid_name",
        "already_reacted",
        "is_archived",
    ),
)
def reactions_add(state: SlackState, args: Args) -> dict[str, Any]:
    name = _emoji(args)
    channel_id, message = _message_arg(state, args)
    if state.channels[channel_id].archived:
        raise SlackError("is_archived")
    reacted = state.reactions.setdefault((channel_id, message["ts"]), [])
    if (name, BOT_USER_ID) in reacted:
        raise SlackError("already_reacted")
    reacted.append((name, BOT_USER_ID))
    return {}


@api(
    "reactions.remove",
    errors=(
        "channel_not_found",
        "no_item_specified",
        "message_not_found",
        "invalid_name",
        "no_reaction",
    ),
)
def reactions_remove(state: SlackState, args: Args) -> dict[str, Any]:
    name = _emoji(args)
    channel_id, message = _message_arg(state, args)
    reacted = state.reactions.get((channel_id, message["ts"]), [])
    if (name, BOT_USER_ID) not in reacted:
        raise SlackError("no_reaction")
    reacted.remove((name, BOT_USER_ID))
    return {}


@api("reactions.get", errors=("channel_not_found", "no_item_specified", "message_not_found"))
def reactions_get(state: SlackState, args: Args) -> dict[str, Any]:
    channel_id, message = _message_arg(state, args)
    rendered = state.render(channel_id, message)
    rendered["permalink"] = state.permalink(channel_id, message)
    if not arg_bool(args, "full", True):
        rendered.pop("blocks", None)
    return {"type": "message", "channel": channel_id, "message": rendered}


@api(
    "bookmarks.add",
    errors=("channel_not_found", "invalid_bookmark_type", "invalid_link", "invalid_emoji"),
)
def bookmarks_add(state: SlackState, args: Args) -> dict[str, Any]:
    channel = state.visible_channel(arg_str(args, "channel_id"))
    if arg_str(args, "type") != "link":
        raise SlackError("invalid_bookmark_type")
    link = arg_str(args, "link")
    if not link.startswith(("http://", "https://")):
        raise SlackError("invalid_link")
    emoji = arg_str(args, "emoji")
    if emoji and not re.fullmatch(r":[a-z0-9_+'-]+:", emoji):
        raise SlackError("invalid_emoji")
    bookmark = {
        "id": state.new_id("Bk"),
        "channel_id": channel.id,
        "title": arg_str(args, "title"),
        "link": link,
        "emoji": emoji or None,
        "icon_url": None,
        "type": "link",
        "entity_id": None,
        "date_created": int(time.time()),
        "date_updated": 0,
        "rank": "a",
        "last_updated_by_user_id": BOT_USER_ID,
        "last_updated_by_team_id": TEAM_ID,
        "shortcut_id": None,
        "app_id": None,
    }
    state.bookmarks.setdefault(channel.id, []).append(bookmark)
    return {"bookmark": bookmark}
