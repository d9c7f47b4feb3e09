"""After-commit notifications: what happened to an incident, for whoever has to follow up.

A service that changed an incident publishes an event once the change is committed; the
subscribers that `app.wiring` registered at start (the escalation re-plans, the reminders are
planned or cancelled) run then, one after another in the order they were registered. So the
services that run an incident (status, severity, resolve, reopen, action items) know nothing of
how pages and reminders are planned, and nothing depends on which modules happen to be imported.

An exception in a subscriber stops the ones after it and reaches the publisher, as a direct
call would: the publishers run in the background, where it is logged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from app.context import BotContext
from app.store.models import ActionItem, Incident


@dataclass(frozen=True)
class IncidentEvent:
    incident: Incident


class StatusUpdated(IncidentEvent):
    """A status update was posted, or the status changed."""


class Resolved(IncidentEvent):
    pass


class Reopened(IncidentEvent):
    pass


@dataclass(frozen=True)
class SeverityChanged(IncidentEvent):
    """The severity moved from `old` to `new` (the new one is saved)."""

    old: str
    new: str


@dataclass(frozen=True)
class ActionItemAdded:
    item: ActionItem


Event = IncidentEvent | ActionItemAdded
E = TypeVar("E", bound=Event)
Subscriber = Callable[[BotContext, E], Awaitable[None]]

_subscribers: dict[type[Any], list[Subscriber[Any]]] = {}


def subscribe(event: type[E], subscriber: Subscriber[E]) -> None:
    """Run `subscriber(ctx, event)` after every `event` published; subscribing twice is once."""
    subscribers = _subscribers.setdefault(event, [])
    if subscriber not in subscribers:
        subscribers.append(subscriber)


def subscribers_of(event: type[Event]) -> tuple[Subscriber[Any], ...]:
    return tuple(_subscribers.get(event, ()))


async def publish(ctx: BotContext, event: Event) -> None:
    """Tell the subscribers of `event`'s type; call it after the change is committed."""
    for subscriber in _subscribers.get(type(event), ()):
        await subscriber(ctx, event)
