"""Buttons on an ephemeral message: the answer the bot gave a slash command (its ack body, or a
later response_url post), as the person who ran the command sees it, and the `block_actions`
Slack sends when they press one of its buttons.

Slack keeps no copy of an ephemeral message that anyone could fetch, so the fake does not
either: the test holds what the bot answered (`shown`) and clicks on that. The payload is the
one Slack documents for a message button, with the container marked `is_ephemeral: true` and
no `message` (Slack does not send an ephemeral message back); answers go through its fresh
`response_url` (`replace_original` replaces the ephemeral, as in Slack).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.sandbox.elements import action, find_element, state_values
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.fakeslack.state import APP_ID
from app.sandbox.identity import VERIFICATION_TOKEN, NotOffered, response_url, team, user

__all__ = ["Ephemeral", "block_actions_on_ephemeral", "shown"]


@dataclass(frozen=True)
class Ephemeral:
    """An ephemeral message as one person's client shows it."""

    channel_id: str
    user_id: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


def shown(
    fake: FakeSlack, answer: Mapping[str, Any], *, channel_id: str, user_id: str
) -> Ephemeral:
    """The ephemeral message `answer` (a command's ack body or a response_url post with
    `response_type: ephemeral`) as `user_id` sees it in `channel_id`."""
    if answer.get("response_type") != "ephemeral":
        raise NotOffered("only an ephemeral answer is shown to one person")
    return Ephemeral(
        channel_id=channel_id,
        user_id=user_id,
        ts=fake.state.new_ts(),
        text=str(answer.get("text") or ""),
        blocks=list(answer.get("blocks") or []),
    )


def block_actions_on_ephemeral(
    fake: FakeSlack,
    message: Ephemeral,
    name: str,
    *,
    user_id: str | None = None,
    block_id: str | None = None,
) -> dict[str, Any]:
    """The person the message was shown to pressed button `name` (label or action id)."""
    clicker = user_id or message.user_id
    if clicker != message.user_id:
        raise NotOffered("an ephemeral message is shown to one person only")
    channel = fake.channels.get(message.channel_id)
    if channel is None:
        raise NotOffered(f"no channel {message.channel_id} in the fake")
    block, element = find_element(message.blocks, name, block_id=block_id)
    return {
        "type": "block_actions",
        "user": user(fake, clicker),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel_id,
            "is_ephemeral": True,
        },
        "trigger_id": fake.new_trigger_id(),
        "team": team(),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {
            "id": message.channel_id,
            "name": "directmessage" if channel.is_im else channel.name,
        },
        "state": {"values": state_values(message.blocks)},
        "response_url": response_url(fake),
        "actions": [action(block, element)],
    }
