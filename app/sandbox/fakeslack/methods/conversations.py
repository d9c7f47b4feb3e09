"""conversations.* methods."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

from ..registry import Args, SlackError, api, arg_bool, arg_int, arg_list, arg_str
from ..state import BOT_USER_ID, Channel, SlackState, ts_key

NAME_MAX = 80
TOPIC_MAX = 250
INVITE_MAX = 100  # "Up to 100 users may be listed."
MPIM_MAX = 8
_NAME_OK = re.compile(r"[a-z0-9_-]+")
_PUNCTUATION_ONLY = re.compile(r"[-_]+")


def encode_cursor(value: str) -> str:
    return base64.b64encode(f"next:{value}".encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        raw = base64.b64decode(cursor.encode(), validate=True).decode()
    except ValueError:
        raise SlackError("invalid_cursor") from None
    if not raw.startswith("next:"):
        raise SlackError("invalid_cursor")
    return raw[len("next:") :]


def validate_channel_name(name: str) -> None:
    """Slack's naming rules, checked in the order its documented errors suggest."""
    if not name:
        raise SlackError("invalid_name_required")
    if len(name) > NAME_MAX:
        raise SlackError("invalid_name_maxlength")
    if not _NAME_OK.fullmatch(name):
        raise SlackError("invalid_name_specials")
    if _PUNCTUATION_ONLY.fullmatch(name):
        raise SlackError("invalid_name_punctuation")


@api(
    "conversations.create",
    errors=(
        "invalid_name_required",
        "invalid_name_maxlength",
        "invalid_name_specials",
        "invalid_name_punctuation",
        "name_taken",
    ),
)
def create(state: SlackState, args: Args) -> dict[str, Any]:
    name = arg_str(args, "name")
    validate_channel_name(name)
    if state.channel_by_name(name) is not None:
        raise SlackError("name_taken")
    channel = Channel(
        id=state.new_id("C"),
        name=name,
        is_private=arg_bool(args, "is_private"),
        members={BOT_USER_ID},
        created=int(time.time()),
        creator=BOT_USER_ID,
    )
    state.channels[channel.id] = channel
    state.messages[channel.id] = []
    return {"channel": channel.to_api()}


@api("conversations.info", errors=("channel_not_found",))
def info(state: SlackState, args: Args) -> dict[str, Any]:
    channel = state.visible_channel(arg_str(args, "channel"))
    data = channel.to_api()
    if arg_bool(args, "include_num_members"):
        data["num_members"] = len(channel.members)
    return {"channel": data}


@api("conversations.list", errors=("invalid_cursor", "invalid_limit"))
def list_(state: SlackState, args: Args) -> dict[str, Any]:
    types = set(arg_list(args, "types") or ["public_channel"])
    exclude_archived = arg_bool(args, "exclude_archived")
    limit = arg_int(args, "limit", 100)
    if not 1 <= limit <= 1000:
        raise SlackError("invalid_limit")

    def wanted(c: Channel) -> bool:
        kind = (
            "im"
            if c.is_im
            else "mpim"
            if c.is_mpim
            else "private_channel"
            if c.is_private
            else "public_channel"
        )
        visible = not c.is_private or BOT_USER_ID in c.members
        return kind in types and visible and not (exclude_archived and c.archived)

    found = [c for c in state.channels.values() if wanted(c)]
    return _page(found, args, limit, "channels", lambda c: c.to_api())


@api(
    "conversations.invite",
    errors=(
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "user_not_found",
        "cant_invite_self",
        "already_in_channel",
        "no_user",
        "method_not_supported_for_channel_type",
    ),
)
def invite(state: SlackState, args: Args) -> dict[str, Any]:
    channel = state.visible_channel(arg_str(args, "channel"))
    if channel.is_im:
        raise SlackError("method_not_supported_for_channel_type")
    if channel.archived:
        raise SlackError("is_archived")
    if BOT_USER_ID not in channel.members:
        raise SlackError("not_in_channel")
    users = arg_list(args, "users")
    if not users:
        raise SlackError("no_user")
    if len(users) > INVITE_MAX:
        raise SlackError("invalid_arguments")
    # Invalid ids fail the whole call unless force=true, which skips them.
    failures = []
    for user in users:
        if user == BOT_USER_ID:
            failures.append({"user": user, "ok": False, "error": "cant_invite_self"})
        elif user not in state.users:
            failures.append({"user": user, "ok": False, "error": "user_not_found"})
    valid = [u for u in users if u not in {f["user"] for f in failures}]
    if failures and (not arg_bool(args, "force") or not valid):
        raise SlackError(str(failures[0]["error"]), errors=failures)
    new = [u for u in valid if u not in channel.members]
    if not new:
        raise SlackError(
            "already_in_channel",
            errors=[{"user": u, "ok": False, "error": "already_in_channel"} for u in valid],
        )
    channel.members.update(new)
    return {"channel": channel.to_api()}


@api(
    "conversations.join",
    errors=("channel_not_found", "is_archived", "method_not_supported_for_channel_type"),
)
def join(state: SlackState, args: Args) -> dict[str, Any]:
    channel = state.visible_channel(arg_str(args, "channel"))
    if channel.is_private or channel.is_im:
        raise SlackError("method_not_supported_for_channel_type")
    if channel.archived:
        raise SlackError("is_archived")
    already = BOT_USER_ID in channel.members
    channel.members.add(BOT_USER_ID)
    out: dict[str, Any] = {"channel": channel.to_api()}
    if already:
        out.update(
            warning="already_in_channel", response_metadata={"warnings": ["already_in_channel"]}
        )
    return out


def _set_text(state: SlackState, args: Args, field: str) -> dict[str, Any]:
    channel = state.visible_channel(arg_str(args, "channel"))
    if channel.archived:
        raise SlackError("is_archived")
    if BOT_USER_ID not in channel.members:
        raise SlackError("not_in_channel")
    value = arg_str(args, field)
    if len(value) > TOPIC_MAX:
        raise SlackError("too_long")
    setattr(channel, field, value)
    setattr(channel, f"{field}_meta", (BOT_USER_ID, int(time.time())))
    return {"channel": channel.to_api()}


@api(
    "conversations.setTopic",
    errors=("channel_not_found", "is_archived", "not_in_channel", "too_long"),
)
def set_topic(state: SlackState, args: Args) -> dict[str, Any]:
    return _set_text(state, args, "topic")


@api(
    "conversations.setPurpose",
    errors=("channel_not_found", "is_archived", "not_in_channel", "too_long"),
)
def set_purpose(state: SlackState, args: Args) -> dict[str, Any]:
    return _set_text(state, args, "purpose")


def _page(items: list[Any], args: Args, limit: int, key: str, render: Any) -> dict[str, Any]:
    """Offset pagination behind an opaque cursor, like Slack's ``next_cursor``."""
    cursor = arg_str(args, "cursor")
    start = 0
    if cursor:
        try:
            start = int(decode_cursor(cursor))
        except ValueError:
            raise SlackError("invalid_cursor") from None
    page = items[start : start + limit]
    more = start + limit < len(items)
    return {
        key: [render(i) for i in page],
        "response_metadata": {"next_cursor": encode_cursor(str(start + limit)) if more else ""},
    }


@api("conversations.members", errors=("channel_not_found", "invalid_cursor", "invalid_limit"))
def members(state: SlackState, args: Args) -> dict[str, Any]:
    channel = state.visible_channel(arg_str(args, "channel"))
    limit = arg_int(args, "limit", 100)
    if not 1 <= limit <= 1000:
        raise SlackError("invalid_limit")
    return _page(sorted(channel.members), args, limit, "members", lambda u: u)


def _window(args: Args, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply latest/oldest/inclusive the way Slack documents them."""
    inclusive = arg_bool(args, "inclusive")
    latest = arg_str(args, "latest")
    oldest = arg_str(args, "oldest")
    try:
        hi = ts_key(latest) if latest else None
    except SlackError:
        raise SlackError("invalid_ts_latest") from None
    try:
        lo = ts_key(oldest) if oldest else None
    except SlackError:
        raise SlackError("invalid_ts_oldest") from None
    out = []
    for message in messages:
        ts = ts_key(message["ts"])
        if hi is not None and (ts > hi or (ts == hi and not inclusive)):
            continue
        if lo is not None and (ts < lo or (ts == lo and not inclusive)):
            continue
        out.append(message)
    return out


@api(
    "conversations.history",
    errors=(
        "channel_not_found",
        "not_in_channel",
        "invalid_cursor",
        "invalid_ts_latest",
        "invalid_ts_oldest",
    ),
)
def history(state: SlackState, args: Args) -> dict[str, Any]:
    channel = state.member_channel(arg_str(args, "channel"))
    top_level = [
        m
        for m in state.messages.get(channel.id, [])
        if not state.is_reply(m) or m.get("subtype") == "thread_broadcast"
    ]
    found = sorted(_window(args, top_level), key=lambda m: ts_key(m["ts"]), reverse=True)
    cursor = arg_str(args, "cursor")
    if cursor:
        before = ts_key(decode_cursor(cursor))
        found = [m for m in found if ts_key(m["ts"]) <= before]
    limit = max(1, min(arg_int(args, "limit", 100), 999))
    page, rest = found[:limit], found[limit:]
    return {
        "messages": [state.render(channel.id, m) for m in page],
        "has_more": bool(rest),
        "pin_count": len(state.pins.get(channel.id, [])),
        "response_metadata": {"next_cursor": encode_cursor(rest[0]["ts"]) if rest else ""},
    }


@api(
    "conversations.replies",
    errors=("channel_not_found", "thread_not_found", "invalid_ts_latest", "invalid_ts_oldest"),
)
def replies(state: SlackState, args: Args) -> dict[str, Any]:
    channel = state.visible_channel(arg_str(args, "channel"))
    if BOT_USER_ID not in channel.members:
        raise SlackError("channel_not_found")
    message = state.find_message(channel.id, arg_str(args, "ts"))
    if message is None:
        raise SlackError("thread_not_found")
    root_ts = message.get("thread_ts") or message["ts"]
    thread = [
        m
        for m in state.messages.get(channel.id, [])
        if m["ts"] == root_ts or m.get("thread_ts") == root_ts
    ]
    thread.sort(key=lambda m: ts_key(m["ts"]))
    parent, rest = thread[0], _window(args, thread[1:])
    limit = max(1, min(arg_int(args, "limit", 1000), 1000))
    page = [parent, *rest][:limit]
    return {
        "messages": [state.render(channel.id, m) for m in page],
        "has_more": len(rest) + 1 > limit,
        "response_metadata": {"next_cursor": ""},
    }


@api(
    "conversations.open",
    errors=("channel_not_found", "user_not_found", "users_list_not_supplied", "too_many_users"),
)
def open_(state: SlackState, args: Args) -> dict[str, Any]:
    channel_id = arg_str(args, "channel")
    users = [u for u in arg_list(args, "users") if u != BOT_USER_ID]
    if channel_id:
        channel = state.channels.get(channel_id)
        if channel is None or not (channel.is_im or channel.is_mpim):
            raise SlackError("channel_not_found")
        already = True
    elif not users:
        raise SlackError("users_list_not_supplied")
    elif len(users) + 1 > MPIM_MAX:
        raise SlackError("too_many_users")
    else:
        if any(u not in state.users for u in users):
            raise SlackError("user_not_found")
        if len(users) == 1:
            channel, already = state.open_im(users[0])
        else:
            channel, already = _open_mpim(state, users)
    data = channel.to_api() if arg_bool(args, "return_im") else {"id": channel.id}
    out: dict[str, Any] = {"channel": data}
    if already:
        out.update(no_op=True, already_open=True)
    return out


def _open_mpim(state: SlackState, users: list[str]) -> tuple[Channel, bool]:
    wanted = {BOT_USER_ID, *users}
    for channel in state.channels.values():
        if channel.is_mpim and channel.members == wanted:
            return channel, True
    channel = Channel(
        id=state.new_id("G"),
        name="mpdm-" + "--".join(sorted(wanted)) + "-1",
        is_private=True,
        members=wanted,
        created=int(time.time()),
        creator=BOT_USER_ID,
        is_mpim=True,
    )
    state.channels[channel.id] = channel
    state.messages[channel.id] = []
    return channel, False


@api(
    "conversations.archive",
    errors=(
        "channel_not_found",
        "already_archived",
        "not_in_channel",
        "method_not_supported_for_channel_type",
    ),
)
def archive(state: SlackState, args: Args) -> dict[str, Any]:
    channel = state.visible_channel(arg_str(args, "channel"))
    if channel.is_im or channel.is_mpim:
        raise SlackError("method_not_supported_for_channel_type")
    if channel.archived:
        raise SlackError("already_archived")
    if BOT_USER_ID not in channel.members:
        raise SlackError("not_in_channel")
    channel.archived = True
    return {}
