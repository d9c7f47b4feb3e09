"""When post-incident reminders fall due. Pure: the escalation engine's scheduled rows carry the
times computed here, and the services only decide whether a reminder is still needed.

- **Review.** The plan says "Schedule Within 48 Hours" (``policy.review_within``). The lead is
  reminded halfway through that window, again at the deadline, then once a day until the review
  is marked held.
- **Action items.** An item is overdue once its due day (in ``TIMEZONE``) is over. Its owner is
  reminded at 09:00 local time on the next day, then every day at 09:00 until it is done.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "ACTION_ITEM_REMIND_AT",
    "REVIEW_REPEAT",
    "first_action_item_reminder_at",
    "first_review_reminder_at",
    "is_overdue",
    "next_action_item_reminder_at",
    "next_review_reminder_at",
    "review_due_at",
]

REVIEW_REPEAT = timedelta(hours=24)
ACTION_ITEM_REMIND_AT = time(9, 0)


def review_due_at(resolved_at: datetime, review_within: timedelta) -> datetime:
    """The deadline of the post-incident review."""
    return resolved_at + review_within


def first_review_reminder_at(resolved_at: datetime, review_within: timedelta) -> datetime:
    """Halfway through the window: late enough to be useful, early enough to act on."""
    return resolved_at + review_within / 2


def next_review_reminder_at(
    resolved_at: datetime, review_within: timedelta, now: datetime
) -> datetime:
    """The reminder that follows one sent at ``now``: halfway, the deadline, then daily."""
    halfway = first_review_reminder_at(resolved_at, review_within)
    due = review_due_at(resolved_at, review_within)
    if now < halfway:
        return halfway
    if now < due:
        return due
    periods = (now - due) // REVIEW_REPEAT + 1
    return due + periods * REVIEW_REPEAT


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)


def is_overdue(due: date, tz: ZoneInfo, now: datetime) -> bool:
    """True once the whole due day is over where the team lives."""
    return now >= _local(due + timedelta(days=1), time(0, 0), tz)


def first_action_item_reminder_at(due: date, tz: ZoneInfo) -> datetime:
    """09:00 local on the day after the due day."""
    return _local(due + timedelta(days=1), ACTION_ITEM_REMIND_AT, tz)


def next_action_item_reminder_at(due: date, tz: ZoneInfo, now: datetime) -> datetime:
    """The next 09:00 local strictly after ``now``, and never before the first reminder.

    Computed on the local calendar, so a daylight-saving change does not shift it to 08:00.
    """
    first = first_action_item_reminder_at(due, tz)
    if now < first:
        return first
    today = now.astimezone(tz).date()
    candidate = _local(today, ACTION_ITEM_REMIND_AT, tz)
    if candidate <= now:
        candidate = _local(today + timedelta(days=1), ACTION_ITEM_REMIND_AT, tz)
    return candidate
