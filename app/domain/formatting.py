"""Times, durations and items as the bot words them, wherever they are written.

The same phrases appear in Slack messages, timeline entries and replies ("acknowledged after
15 minutes", "resolved after 2 hours 5 minutes"), so services and Block Kit screens share
these. They take any object with the fields they read (an ORM row, a test double).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from app.domain.durations import format_duration, format_elapsed
from app.domain.text import mrkdwn

__all__ = [
    "duration_text",
    "format_time",
    "human_minutes",
    "item_line",
    "plain_item_line",
    "short_time",
]


class Timed(Protocol):
    """What an incident's duration is read from."""

    @property
    def started_at(self) -> datetime: ...

    @property
    def resolved_at(self) -> datetime | None: ...


class Item(Protocol):
    """What an action item's line is read from."""

    @property
    def text(self) -> str: ...

    @property
    def owner_id(self) -> str | None: ...

    @property
    def due_on(self) -> date | None: ...


def format_time(when: datetime, tz: ZoneInfo) -> str:
    """`2026-11-28 09:05 CET`."""
    local = when.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


def short_time(when: datetime, tz: ZoneInfo) -> str:
    """`09:05 CET`."""
    local = when.astimezone(tz)
    return local.strftime("%H:%M ") + (local.tzname() or "")


def human_minutes(delta: timedelta) -> str:
    """Whole minutes for people ("15 minutes"); seconds only when under a minute (windows of
    seconds exist), and "under a second" rather than "0 seconds"."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "under a second"
    if seconds >= 60:
        seconds -= seconds % 60
    return format_duration(timedelta(seconds=max(seconds, 0)))


def duration_text(incident: Timed) -> str:
    """ "2 hours 5 minutes", the incident log's Duration, once resolved."""
    if incident.resolved_at is None:
        return ""
    return format_elapsed(incident.resolved_at - incident.started_at)


def item_line(item: Item) -> str:
    """`Rotate the keys · <@U1> · due 2026-12-05` as Slack mrkdwn: the item's text (a
    person's) escaped, its owner mentioned."""
    return _line(item, mrkdwn(item.text))


def plain_item_line(item: Item) -> str:
    """The same line as plain text, for a timeline entry (which lists the owner it names)."""
    return _line(item, item.text)


def _line(item: Item, text: str) -> str:
    owner = f" · <@{item.owner_id}>" if item.owner_id else " · no owner"
    due = f" · due {item.due_on.isoformat()}" if item.due_on else ""
    return f"{text}{owner}{due}"
