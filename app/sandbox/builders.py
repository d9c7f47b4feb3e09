"""Slack's side of an interaction: request bodies built the way Slack builds them.

Every body starts from what the bot really did, as the fake Slack stored it: a click is built
from the button in the message the bot posted, a submission from the view the bot opened, a
reaction from the message it is on. The shapes follow Slack's published payloads (kept beside
the project in ``../shared/slack-payloads/``; ``tests/test_slack_builders.py`` checks these
builders against them key by key). Nothing here invents an action id, a block id or a value: a
test names a button by its label or action id, and an answer must be one the element offers.

The pieces: `identity` (team, user, tokens), `elements` (what a surface offers and the
state it reports), `events` (slash commands and the Events API); this module builds the
interaction bodies and re-exports the rest, so `builders.X` names every builder.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from app.sandbox.elements import (
    INITIAL_KEYS,
    INTERACTIVE,
    MULTI_KEYS,
    OPTION_KEYS,
    STATE_KEYS,
    _chosen,
    action,
    block_text,
    elements,
    find_element,
    state_values,
)
from app.sandbox.events import (
    app_home_opened_event,
    channel_type,
    client_msg_id,
    escape_text,
    event_callback,
    event_ts,
    message_changed_event,
    message_deleted_event,
    message_event,
    person_message,
    reaction_event,
    rich_text,
    slash_command,
)
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.fakeslack.state import APP_ID, BOT_USER_ID
from app.sandbox.identity import (
    ENTERPRISE_ID,
    ENTERPRISE_NAME,
    EVENT_CONTEXT,
    VERIFICATION_TOKEN,
    NotOffered,
    action_ts,
    response_url,
    team,
    user,
)

__all__ = [
    "ENTERPRISE_ID",
    "ENTERPRISE_NAME",
    "EVENT_CONTEXT",
    "INITIAL_KEYS",
    "INTERACTIVE",
    "MULTI_KEYS",
    "NotOffered",
    "OPTION_KEYS",
    "STATE_KEYS",
    "VERIFICATION_TOKEN",
    "action",
    "action_ts",
    "block_actions_in_view",
    "block_actions_on_message",
    "block_text",
    "channel_object",
    "channel_type",
    "client_msg_id",
    "current_view",
    "elements",
    "escape_text",
    "event_callback",
    "event_ts",
    "find_element",
    "message_changed_event",
    "message_deleted_event",
    "message_event",
    "message_state",
    "person_message",
    "reaction_event",
    "app_home_opened_event",
    "response_url",
    "rich_text",
    "slash_command",
    "state_values",
    "team",
    "user",
    "view_closed",
    "view_submission",
    "view_with_state",
    "where",
]


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
