"""Buttons (and the other elements of a message): reading what a person did from a
block_actions payload (app/slack/payloads.py has already checked its shape), and the one
listener every button shares, which acks, then runs the button's work in the background and
tells the person if it fails (errors.after_ack)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from app.context import BotContext
from app.services.authorization import Actor
from app.slack import errors


@dataclass(frozen=True)
class Click:
    """One element used: a button pressed, a checkbox ticked, an option picked."""

    value: str
    user_id: str
    channel_id: str | None
    message_ts: str | None
    trigger_id: str
    action: dict[str, Any] = field(default_factory=dict)
    # The payload's response_url, for buttons answered through it (see errors.tell).
    respond: AsyncRespond | None = None

    @property
    def number(self) -> int | None:
        """The value as the number of a row (an incident, an action item); None if it is not."""
        return int(self.value) if self.value.isdigit() else None

    @property
    def person(self) -> errors.Person:
        return errors.Person(self.user_id, self.channel_id, self.respond)

    @property
    def actor(self) -> Actor:
        """Who clicked. The message's channel is not where they typed anything: anyone can open
        a public channel and press its buttons without being in it."""
        return Actor(self.user_id)


def click_of(body: dict[str, Any], respond: AsyncRespond | None = None) -> Click:
    """The click of a block_actions payload; with `respond`, answers go through its
    response_url rather than as an ephemeral message in the channel."""
    action = (body.get("actions") or [{}])[0]
    container = body.get("container") or {}
    return Click(
        value=str(action.get("value") or ""),
        user_id=body["user"]["id"],
        channel_id=(body.get("channel") or {}).get("id") or container.get("channel_id"),
        message_ts=container.get("message_ts") or (body.get("message") or {}).get("ts"),
        trigger_id=str(body.get("trigger_id") or ""),
        action=action,
        respond=respond,
    )


Work = Callable[[BotContext, Click], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Button:
    """What a button does after the ack (`work`), what that is in words for a failure
    (`doing`), and whether the person is answered through the payload's response_url (the
    pages, often DMs) rather than with an ephemeral message in the channel."""

    work: Work
    doing: str
    by_response_url: bool = False


async def pressed(
    bot: BotContext, button: Button, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
) -> None:
    """The listener of every button: ack at once, then `button.work`."""
    await ack()
    click = click_of(body, respond if button.by_response_url else None)
    errors.after_ack(
        bot, click.person, button.work(bot, click), doing=button.doing, name=button.doing
    )
