"""chat.* methods."""

from __future__ import annotations

from typing import Any

from ..blockkit import check_message_blocks
from ..registry import Args, SlackError, api, arg_bool, arg_json, arg_str, has_text
from ..state import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID, Channel, SlackState

# Slack truncates chat.postMessage text beyond 40,000 characters (it documents no error for it).
POST_TEXT_MAX = 40_000
# chat.update's reference: "The `text` field cannot exceed 4,000 characters." -> msg_too_long.
UPDATE_TEXT_MAX = 4_000
# chat.postEphemeral documents msg_too_long without a number; Slack's general limit applies.
EPHEMERAL_TEXT_MAX = 40_000


def resolve_target(state: SlackState, channel_id: str) -> Channel:
    """A channel id, or a user id meaning "the bot's DM with that user" (Slack accepts both)."""
    if channel_id[:1] in {"U", "W"}:
        if channel_id not in state.users or channel_id == BOT_USER_ID:
            raise SlackError("channel_not_found")
        return state.open_im(channel_id)[0]
    return state.visible_channel(channel_id)


def _can_post(state: SlackState, channel: Channel) -> None:
    if channel.archived:
        raise SlackError("is_archived")
    if BOT_USER_ID in channel.members:
        return
    # chat:write.public lets a bot post in public channels it has not joined.
    public_ok = state.granted_scopes is not None and "chat:write.public" in state.granted_scopes
    if channel.is_private or not public_ok:
        raise SlackError("not_in_channel")


def _content(args: Args, blocks: list[Any] | None, text_max: int | None) -> dict[str, Any]:
    text = arg_str(args, "text")
    if text_max is not None:
        text = text[:text_max]
    content: dict[str, Any] = {"text": text}
    if blocks is not None:
        content["blocks"] = blocks
    attachments = arg_json(args, "attachments")
    if attachments:
        content["attachments"] = attachments
    metadata = arg_json(args, "metadata")
    if metadata:
        content["metadata"] = metadata
    return content


@api(
    "chat.postMessage",
    errors=(
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "no_text",
        "invalid_blocks",
        "invalid_blocks_format",
    ),
)
def post_message(state: SlackState, args: Args) -> dict[str, Any]:
    channel = resolve_target(state, arg_str(args, "channel"))
    _can_post(state, channel)
    if not has_text(args):
        raise SlackError("no_text")
    blocks = check_message_blocks(args)
    message: dict[str, Any] = {
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
        **_content(args, blocks, POST_TEXT_MAX),
    }
    thread_ts = arg_str(args, "thread_ts")
    if thread_ts:
        message["thread_ts"] = thread_ts
        if arg_bool(args, "reply_broadcast"):
            message["subtype"] = "thread_broadcast"
    stored = state.append_message(channel.id, message)
    return {"channel": channel.id, "ts": stored["ts"], "message": state.render(channel.id, stored)}


@api(
    "chat.update",
    errors=(
        "channel_not_found",
        "message_not_found",
        "cant_update_message",
        "no_text",
        "msg_too_long",
        "invalid_blocks",
        "invalid_blocks_format",
    ),
)
def update(state: SlackState, args: Args) -> dict[str, Any]:
    channel = state.visible_channel(arg_str(args, "channel"))
    message = state.require_message(channel.id, arg_str(args, "ts"))
    if message.get("user") != BOT_USER_ID:
        raise SlackError("cant_update_message")
    if not has_text(args):
        raise SlackError("no_text")
    if len(arg_str(args, "text")) > UPDATE_TEXT_MAX:
        raise SlackError("msg_too_long")
    blocks = check_message_blocks(args)
    message.pop("blocks", None)
    message.pop("attachments", None)
    message.update(_content(args, blocks, None))
    message["edited"] = {"user": BOT_USER_ID, "ts": state.new_ts()}
    return {
        "channel": channel.id,
        "ts": message["ts"],
        "text": message["text"],
        "message": state.render(channel.id, message),
    }


@api("chat.delete", errors=("channel_not_found", "message_not_found", "cant_delete_message"))
def delete(state: SlackState, args: Args) -> dict[str, Any]:
    channel = state.visible_channel(arg_str(args, "channel"))
    message = state.require_message(channel.id, arg_str(args, "ts"))
    if message.get("user") != BOT_USER_ID:
        raise SlackError("cant_delete_message")
    state.messages[channel.id].remove(message)
    if message["ts"] in state.pins.get(channel.id, []):
        state.pins[channel.id].remove(message["ts"])
    state.reactions.pop((channel.id, message["ts"]), None)
    return {"channel": channel.id, "ts": message["ts"]}


@api(
    "chat.postEphemeral",
    errors=(
        "channel_not_found",
        "not_in_channel",
        "user_not_in_channel",
        "is_archived",
        "no_text",
        "msg_too_long",
        "invalid_blocks",
        "invalid_blocks_format",
    ),
)
def post_ephemeral(state: SlackState, args: Args) -> dict[str, Any]:
    channel = resolve_target(state, arg_str(args, "channel"))
    _can_post(state, channel)
    if arg_str(args, "user") not in channel.members:
        raise SlackError("user_not_in_channel")
    if not has_text(args):
        raise SlackError("no_text")
    if len(arg_str(args, "text")) > EPHEMERAL_TEXT_MAX:
        raise SlackError("msg_too_long")
    check_message_blocks(args)
    recorded = {k: v for k, v in args.items() if k != "token"}
    for key in ("blocks", "attachments"):
        if key in recorded:
            recorded[key] = arg_json(args, key)
    state.ephemerals.append(recorded)
    return {"message_ts": state.new_ts()}


@api("chat.getPermalink", errors=("channel_not_found", "message_not_found"))
def get_permalink(state: SlackState, args: Args) -> dict[str, Any]:
    channel = state.visible_channel(arg_str(args, "channel"))
    message = state.require_message(channel.id, arg_str(args, "message_ts"))
    return {"channel": channel.id, "permalink": state.permalink(channel.id, message)}
