"""Events API payloads shaped as Slack documents them, for `SlackSender.event`."""

from __future__ import annotations

import time
from typing import Any


def event_ts() -> str:
    return f"{time.time():.6f}"


def reaction(
    kind: str, channel: str, ts: str, *, user: str = "UOTHER", emoji: str = "pushpin"
) -> dict[str, Any]:
    """`reaction_added` or `reaction_removed` on the message `ts`."""
    return {
        "type": kind,
        "user": user,
        "reaction": emoji,
        "item_user": "UREPORTER",
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": event_ts(),
    }


def added(channel: str, ts: str, **kwargs: Any) -> dict[str, Any]:
    return reaction("reaction_added", channel, ts, **kwargs)


def removed(channel: str, ts: str, **kwargs: Any) -> dict[str, Any]:
    return reaction("reaction_removed", channel, ts, **kwargs)


def message_changed(channel: str, change: dict[str, Any]) -> dict[str, Any]:
    """`change` is what FakeSlack.edit_message returns."""
    edited_ts = change["message"].get("edited", {}).get("ts") or event_ts()
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": channel,
        "channel_type": "channel",
        "ts": edited_ts,
        "event_ts": edited_ts,
        "message": change["message"],
        "previous_message": change["previous_message"],
    }


def message_deleted(channel: str, previous: dict[str, Any]) -> dict[str, Any]:
    ts = event_ts()
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": channel,
        "channel_type": "channel",
        "ts": ts,
        "event_ts": ts,
        "deleted_ts": previous["ts"],
        "previous_message": previous,
    }


def message(channel: str, text: str, *, subtype: str | None = None, **extra: Any) -> dict[str, Any]:
    """A new message (or one of the many other `message` subtypes Slack sends)."""
    ts = event_ts()
    body: dict[str, Any] = {
        "type": "message",
        "channel": channel,
        "channel_type": "channel",
        "user": "UOTHER",
        "text": text,
        "ts": ts,
        "event_ts": ts,
        **extra,
    }
    if subtype:
        body["subtype"] = subtype
    return body
