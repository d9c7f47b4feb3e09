"""Buttons on an ephemeral message: the answer the bot gave a slash command (its ack body, or a
later response_url post), as the person who ran the command sees it, and the `block_actions`
Slack sends when they press one of its buttons.

Slack keeps no copy of an ephemeral message that anyone could fetch, so the fake does not
either: the test holds what the bot answered (`shown`) and clicks on that. The payload is the
one Slack documents for a message button, with the container marked `is_ephemeral: true` and
no `message` (Slack does not send an ephemeral message back: bolt-python's own ephemeral
block_actions fixtures have none); answers go through its fresh `response_url`
(`replace_original` replaces the ephemeral, as in Slack: `replaced`).

Slack shows neither a command's answer nor a response_url post whose blocks it would refuse
(`invalid_blocks`), so `shown` and `replaced` run them through the fake's Block Kit checks;
it gives a block without a `block_id` a generated one, as the click then reports it.
"""

from __future__ import annotations

import copy
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from app.sandbox.elements import action, find_element, state_values
from app.sandbox.fakeslack import FakeSlack, blockkit
from app.sandbox.fakeslack.state import APP_ID
from app.sandbox.identity import VERIFICATION_TOKEN, NotOffered, response_url, team, user

__all__ = ["Ephemeral", "NotShown", "block_actions_on_ephemeral", "replaced", "shown"]

_BLOCK_ID_CHARS = string.ascii_letters + string.digits


class NotShown(ValueError):
    """Slack would not show this answer (its blocks are refused, or it has no content)."""


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
    text, blocks = _content(answer)
    return Ephemeral(
        channel_id=channel_id, user_id=user_id, ts=fake.state.new_ts(), text=text, blocks=blocks
    )


def replaced(message: Ephemeral, answer: Mapping[str, Any]) -> Ephemeral | None:
    """`message` after a response_url post `answer` made on a click on it: the new content in
    its place with `replace_original`, gone (None) with `delete_original`, else unchanged (the
    answer is then a new message of its own)."""
    if answer.get("delete_original") in (True, "true"):
        return None
    if answer.get("replace_original") not in (True, "true"):
        return message
    text, blocks = _content(answer)
    return replace(message, text=text, blocks=blocks)


def _content(answer: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The text and blocks of an answer as Slack shows them, or NotShown."""
    text = str(answer.get("text") or "")
    blocks = copy.deepcopy(list(answer.get("blocks") or []))
    if not text and not blocks:
        raise NotShown("an answer needs text or blocks (Slack: no_text)")
    problems = blockkit.message_problems(blocks)
    if problems:
        raise NotShown(f"Slack would refuse these blocks (invalid_blocks): {problems}")
    for block in blocks:
        if isinstance(block, dict) and not block.get("block_id"):
            block["block_id"] = "".join(secrets.choice(_BLOCK_ID_CHARS) for _ in range(5))
    return text, blocks


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
