"""Slack's side of an interaction: request bodies built the way Slack builds them.

Every body starts from what the bot really did, as the fake Slack stored it: a click is built
from the button in the message the bot posted, a submission from the view the bot opened, a
reaction from the message it is on. The shapes follow Slack's published payloads (kept beside
the project in ``../shared/slack-payloads/``; ``tests/test_slack_builders.py`` checks these
builders against them key by key). Nothing here invents an action id, a block id or a value: a
test names a button by its label or action id, and an answer must be one the element offers.
"""

from __future__ import annotations

import copy
import re
import secrets
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from tests.fakeslack import FakeSlack
from tests.fakeslack.state import APP_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID

# What Slack puts in every Events API envelope after the event (an opaque token).
EVENT_CONTEXT = "4-eyJldCI6Im1lc3NhZ2UiLCJ0aWQiOiJUMDAwMSIsImFpZCI6IkEwMDAxIn0"
VERIFICATION_TOKEN = "verification_token"
# Slack's published slash command and view_closed examples come from an Enterprise Grid org.
ENTERPRISE_ID = "E0001"
ENTERPRISE_NAME = "Fake Org"
# Element types whose value Slack reports in `state.values`, and under which key.
STATE_KEYS = {
    "plain_text_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "number_input": "value",
    "rich_text_input": "rich_text_value",
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "checkboxes": "selected_options",
    "multi_static_select": "selected_options",
    "multi_external_select": "selected_options",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
}
# Where the element's initial value sits, for each state key.
INITIAL_KEYS = {
    "value": "initial_value",
    "rich_text_value": "initial_value",
    "selected_option": "initial_option",
    "selected_options": "initial_options",
    "selected_user": "initial_user",
    "selected_users": "initial_users",
    "selected_conversation": "initial_conversation",
    "selected_conversations": "initial_conversations",
    "selected_channel": "initial_channel",
    "selected_channels": "initial_channels",
    "selected_date": "initial_date",
    "selected_time": "initial_time",
    "selected_date_time": "initial_date_time",
}
MULTI_KEYS = {"selected_options", "selected_users", "selected_conversations", "selected_channels"}
OPTION_KEYS = {"selected_option", "selected_options"}
INTERACTIVE = {*STATE_KEYS, "button", "overflow", "workflow_button"}


class NotOffered(AssertionError):
    """A test tried to do what Slack's client would not let a person do."""


# ------------------------------------------------------------------------------ identities


def team() -> dict[str, Any]:
    return {"id": TEAM_ID, "domain": TEAM_DOMAIN}


def user(fake: FakeSlack, user_id: str) -> dict[str, Any]:
    """The `user` object of an interaction, for a member of the fake workspace."""
    member = fake.users.get(user_id)
    if member is None:
        raise NotOffered(f"{user_id} is not a member of the fake workspace")
    return {"id": user_id, "username": member.name, "name": member.name, "team_id": TEAM_ID}


def response_url(fake: FakeSlack) -> str:
    return f"{fake.response_url_base}/{uuid.uuid4().hex}"


def action_ts() -> str:
    return f"{time.time():.6f}"


# ------------------------------------------------------------------------- finding elements


def elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(block, element) for every interactive element of a message's or view's blocks."""
    for block in blocks:
        candidates = [*block.get("elements", []), block.get("accessory"), block.get("element")]
        for element in candidates:
            if isinstance(element, dict) and element.get("type") in INTERACTIVE:
                yield block, element


def _label(element: dict[str, Any]) -> str:
    text = element.get("text")
    return text.get("text", "") if isinstance(text, dict) else ""


def block_text(block: dict[str, Any]) -> str:
    """What a person reads in a block (its text and fields)."""
    parts = [block.get("text")] + list(block.get("fields") or [])
    return " ".join(p.get("text", "") for p in parts if isinstance(p, dict))


def find_element(
    blocks: list[dict[str, Any]],
    action: str,
    *,
    block_id: str | None = None,
    near: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The element a person would press: named by its action id, or a button by its label;
    `near` picks among equal buttons the one whose block reads that text."""
    found = [
        (block, element)
        for block, element in elements(blocks)
        if (element.get("action_id") == action or _label(element) == action)
        and (block_id is None or block.get("block_id") == block_id)
        and (near is None or near in block_text(block))
    ]
    if not found:
        offered = [(b.get("block_id"), e.get("action_id"), _label(e)) for b, e in elements(blocks)]
        raise NotOffered(f"no element {action!r} (block {block_id!r}); offered: {offered}")
    if len(found) > 1:
        raise NotOffered(f"{len(found)} elements match {action!r}; say which (near=...)")
    return found[0]


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def _option(element: dict[str, Any], value: str) -> dict[str, Any]:
    for option in _options(element):
        if option.get("value") == value:
            return option
    offered = [o.get("value") for o in _options(element)]
    raise NotOffered(f"{element.get('action_id')!r} offers no option {value!r}; it has {offered}")


def _chosen(element: dict[str, Any], key: str, answer: Any) -> Any:
    """An answer (an option value, a list of them, a text, an id) in Slack's shape for `key`."""
    if key in MULTI_KEYS:
        picked = [answer] if isinstance(answer, str) else list(answer or [])
        return [_option(element, v) for v in picked] if key in OPTION_KEYS else picked
    if answer is None:
        return None
    if key == "selected_option":
        return _option(element, str(answer))
    if key == "value" and element.get("type") == "plain_text_input":
        limit = element.get("max_length")
        if limit is not None and len(str(answer)) > int(limit):
            raise NotOffered(f"{element.get('action_id')!r} takes at most {limit} characters")
    return answer


def _initial(element: dict[str, Any], key: str) -> Any:
    initial = element.get(INITIAL_KEYS[key])
    if key in MULTI_KEYS:
        return list(initial or [])
    return initial


def state_values(
    blocks: list[dict[str, Any]], answers: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """`state.values` as Slack sends it: every stateful element, keyed by block and action id.

    `answers` maps a block id to what the person entered there (text, option value(s), user
    id...); an element nobody touched carries its initial value, or Slack's null.
    """
    answers = dict(answers or {})
    values: dict[str, dict[str, Any]] = {}
    for block, element in elements(blocks):
        kind = element["type"]
        key = STATE_KEYS.get(kind)
        if key is None:
            continue
        block_id = block["block_id"]
        if block_id in answers:
            current = _chosen(element, key, answers.pop(block_id))
        else:
            current = _initial(element, key)
        values.setdefault(block_id, {})[element["action_id"]] = {"type": kind, key: current}
    if answers:
        raise NotOffered(f"no input blocks {sorted(answers)} in this surface")
    return values


def action(block: dict[str, Any], element: dict[str, Any], selected: Any = None) -> dict[str, Any]:
    """One entry of `actions`, as Slack reports the element that was used."""
    kind = element["type"]
    out: dict[str, Any] = {
        "type": kind,
        "block_id": block["block_id"],
        "action_id": element["action_id"],
        "action_ts": action_ts(),
    }
    if kind in {"button", "workflow_button"}:
        out["text"] = element["text"]
        if "value" in element:
            out["value"] = element["value"]
        if "style" in element:
            out["style"] = element["style"]
        return out
    if kind == "overflow":
        out["selected_option"] = _option(element, str(selected))
        return out
    key = STATE_KEYS[kind]
    out[key] = _chosen(element, key, selected)
    if "placeholder" in element:
        out["placeholder"] = element["placeholder"]
    return out


# ---------------------------------------------------------------------- block_actions bodies


def where(fake: FakeSlack, message: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The channel holding `message` and the message as the fake stores it now."""
    for channel_id, history in fake.messages.items():
        for stored in history:
            if stored["ts"] == message.get("ts") and stored.get("user") == message.get("user"):
                return channel_id, stored
    raise NotOffered(f"message {message.get('ts')} is not in any channel of the fake")


def channel_object(fake: FakeSlack, channel_id: str) -> dict[str, Any]:
    channel = fake.channels[channel_id]
    name = "directmessage" if channel.is_im else channel.name
    return {"id": channel_id, "name": name}


def message_state(
    blocks: list[dict[str, Any]], block: dict[str, Any], element: dict[str, Any], selected: Any
) -> dict[str, dict[str, Any]]:
    """state.values of a message after the person changed one element (checkbox, select)."""
    key = STATE_KEYS.get(element["type"])
    if key is None:
        return state_values(blocks)
    values = state_values(blocks)
    values[block["block_id"]][element["action_id"]] = {
        "type": element["type"],
        key: _chosen(element, key, selected),
    }
    return values


def block_actions_on_message(
    fake: FakeSlack,
    message: Mapping[str, Any],
    name: str,
    *,
    user_id: str,
    selected: Any = None,
    block_id: str | None = None,
    near: str | None = None,
) -> dict[str, Any]:
    """A person used element `name` of a message the bot posted (Slack's `block_actions`).

    `message` is the message as the person's client shows it: pass a copy taken earlier to
    click a version the bot has since edited (a double click, a stale screen)."""
    channel_id, stored = where(fake, message)
    if stored.get("user") != BOT_USER_ID:
        raise NotOffered("only the bot's own messages carry its buttons")
    shown = copy.deepcopy(dict(message))
    blocks = shown.get("blocks") or []
    block, element = find_element(blocks, name, block_id=block_id, near=near)
    if fake.channels[channel_id].archived:
        raise NotOffered("an archived channel's messages cannot be used")
    return {
        "type": "block_actions",
        "user": user(fake, user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": stored["ts"],
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": fake.new_trigger_id(),
        "team": team(),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": channel_object(fake, channel_id),
        "message": fake.state.render(channel_id, shown),
        "state": {"values": message_state(blocks, block, element, selected)},
        "response_url": response_url(fake),
        "actions": [action(block, element, selected)],
    }


def current_view(fake: FakeSlack, view: Mapping[str, Any]) -> dict[str, Any]:
    """The view as Slack holds it now (after any views.update), by its id."""
    stored = fake.views.get(str(view.get("id")))
    if stored is None:
        raise NotOffered(f"view {view.get('id')} was never opened")
    return dict(stored)


def view_with_state(
    fake: FakeSlack, view: Mapping[str, Any], answers: Mapping[str, Any] | None
) -> dict[str, Any]:
    current = current_view(fake, view)
    return {**current, "state": {"values": state_values(current["blocks"], answers)}}


def block_actions_in_view(
    fake: FakeSlack,
    view: Mapping[str, Any],
    name: str,
    *,
    user_id: str,
    answers: Mapping[str, Any],
    block_id: str | None = None,
) -> dict[str, Any]:
    """A person changed an element of a modal that dispatches actions (Slack's `block_actions`
    from a view: the full view with its current state, no channel or response_url).

    `answers` is everything entered in the modal so far, the changed element included.
    """
    current = current_view(fake, view)
    block, element = find_element(current["blocks"], name, block_id=block_id)
    if element["type"] != "button" and block["block_id"] not in answers:
        raise NotOffered("say what the person entered in the element they changed")
    selected = answers.get(block["block_id"])
    return {
        "type": "block_actions",
        "user": user(fake, user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": current["id"]},
        "trigger_id": fake.new_trigger_id(),
        "team": team(),
        "enterprise": None,
        "is_enterprise_install": False,
        "view": view_with_state(fake, current, answers),
        "actions": [action(block, element, selected)],
    }


# ------------------------------------------------------------------------------ view bodies


def view_submission(
    fake: FakeSlack, view: Mapping[str, Any], answers: Mapping[str, Any], *, user_id: str
) -> dict[str, Any]:
    """A person pressed the modal's submit button with `answers` entered (block id -> answer)."""
    current = current_view(fake, view)
    if not current.get("submit"):
        raise NotOffered("this view has no submit button")
    return {
        "type": "view_submission",
        "team": team(),
        "user": user(fake, user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": fake.new_trigger_id(),
        "view": view_with_state(fake, current, answers),
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed(
    fake: FakeSlack, view: Mapping[str, Any], *, user_id: str, is_cleared: bool = False
) -> dict[str, Any]:
    current = current_view(fake, view)
    return {
        "type": "view_closed",
        "team": {**team(), "enterprise_id": ENTERPRISE_ID, "enterprise_name": ENTERPRISE_NAME},
        "user": user(fake, user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "view": view_with_state(fake, current, None),
        "response_urls": [],
        "is_cleared": is_cleared,
    }


# ---------------------------------------------------------------------------- slash commands

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


# -------------------------------------------------------------------------------- Events API


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
