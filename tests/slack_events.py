"""Events API events as Slack sends them, for `SlackSender.event`: each one describes something
a person did in the fake workspace, and the fake's state is changed first, as Slack's is."""

from __future__ import annotations

from typing import Any

from app.sandbox import builders as build
from app.sandbox.fakeslack import FakeSlack


def added(
    fake: FakeSlack, channel: str, ts: str, *, user: str = "UOTHER", emoji: str = "pushpin"
) -> dict[str, Any]:
    """`user` reacts with `emoji` to the message `ts`: `reaction_added`."""
    fake.add_reaction(channel, ts, emoji, user=user)
    return build.reaction_event(fake, channel, ts, emoji, user_id=user, added=True)


def removed(
    fake: FakeSlack, channel: str, ts: str, *, user: str = "UOTHER", emoji: str = "pushpin"
) -> dict[str, Any]:
    """`user` takes their `emoji` off the message `ts`: `reaction_removed`."""
    event = build.reaction_event(fake, channel, ts, emoji, user_id=user, added=False)
    fake.remove_reaction(channel, ts, emoji, user=user)
    return event


def message_changed(fake: FakeSlack, channel: str, change: dict[str, Any]) -> dict[str, Any]:
    """`change` is what FakeSlack.edit_message returns."""
    return build.message_changed_event(fake, channel, change)


def message_deleted(fake: FakeSlack, channel: str, previous: dict[str, Any]) -> dict[str, Any]:
    """`previous` is what FakeSlack.delete_message returns."""
    return build.message_deleted_event(fake, channel, previous)


def message(
    fake: FakeSlack,
    channel: str,
    text: str,
    *,
    user: str = "UOTHER",
    subtype: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A message posted in `channel` (or one of the many other `message` subtypes Slack
    sends): stored in the fake, then announced."""
    ts = fake.add_message(channel, text, user=user)
    event = build.message_event(fake, channel, ts)
    if subtype:
        event["subtype"] = subtype
    event.update(extra)
    return event
