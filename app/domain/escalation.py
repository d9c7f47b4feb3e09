"""Escalation planning: which levels an incident may page, and when each step falls due.

Pure functions over a policy snapshot, a severity and times; no I/O. The service layer turns
these plans into scheduled rows and the handlers re-check them at send time, so a plan computed
here is never trusted blindly when the incident has moved on since.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.domain.policy import EscalationLevel, Policy

__all__ = [
    "PAGE",
    "TARGET_WARNING",
    "UPDATE_REMINDER",
    "PlannedStep",
    "chain",
    "in_chain",
    "initial_plan",
    "is_late",
    "level_after",
    "next_page_due",
    "page_key",
    "reminder_data",
    "reminder_key",
    "response_deadline",
    "update_reminder_due",
    "level_names",
    "LATE_AFTER",
    "SNOOZE_CHOICES",
]

PAGE = "page"
TARGET_WARNING = "target_warning"
UPDATE_REMINDER = "update_reminder"
# A page's other channels (app.services.paging) and its backup: stopped with the pages.
PAGE_EMAIL, PAGE_SMS, PAGE_VOICE = "page_email", "page_sms", "page_voice"
PAGE_BACKUP = "page_backup"
PAGE_CHANNELS = (PAGE_EMAIL, PAGE_SMS, PAGE_VOICE, PAGE_BACKUP)

# A step sent more than this after its due time is flagged late (the bot was down, or Slack
# kept failing): the message says so, and the row keeps the flag.
LATE_AFTER = timedelta(minutes=1)

# How long an update reminder may be snoozed: its buttons offer these, and nothing else is taken.
SNOOZE_CHOICES = (timedelta(minutes=15), timedelta(hours=1))


@dataclass(frozen=True)
class PlannedStep:
    """A step to schedule: what, when, for which level, and under which dedupe key."""

    kind: str
    due_at: datetime
    level: str | None = None
    key: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def page_key(level: str) -> str:
    return f"{PAGE}:{level}"


def reminder_key(seq: int) -> str:
    """Reminders form a sequence, one live at a time; numbering them makes each one unique."""
    return f"{UPDATE_REMINDER}:{seq}"


def reminder_data(seq: int, since: datetime, *, since_update: bool) -> dict[str, Any]:
    """What a reminder needs to say how long the channel has gone without an update."""
    return {"seq": seq, "since": since.isoformat(), "since_update": since_update}


def chain(policy: Policy, severity: str) -> list[EscalationLevel]:
    """The levels this severity may page, L1 first, capped by its `escalate_to`.

    `critical_only` levels belong to the most severe severity alone. The policy validator
    already refuses other severities escalating to them; filtering again keeps a hand-edited
    snapshot from paging the CEO for a P3.
    """
    most_severe = policy.most_severe
    return [
        level
        for level in policy.levels_for(severity)
        if not level.critical_only or severity == most_severe
    ]


def in_chain(policy: Policy, severity: str, level_key: str) -> bool:
    return any(level.key == level_key for level in chain(policy, severity))


def level_after(policy: Policy, severity: str, level_key: str) -> EscalationLevel | None:
    """The level paged when `level_key` does not acknowledge, or None at the severity's cap."""
    levels = chain(policy, severity)
    keys = [level.key for level in levels]
    if level_key not in keys:
        return None
    index = keys.index(level_key)
    return levels[index + 1] if index + 1 < len(levels) else None


def next_page_due(
    policy: Policy, severity: str, level_key: str, paged_at: datetime
) -> tuple[EscalationLevel, datetime] | None:
    """The next level and when it falls due: each level waits its own window from its page."""
    following = level_after(policy, severity, level_key)
    window = policy.level(level_key).window
    if following is None or window is None:
        return None
    return following, paged_at + window


def response_deadline(policy: Policy, severity: str, started_at: datetime) -> datetime:
    return started_at + policy.severity(severity).response_target


def update_reminder_due(policy: Policy, severity: str, since: datetime) -> datetime | None:
    """When the next status-update reminder falls due, or None if the severity has no cadence."""
    every = policy.severity(severity).update_every
    return None if every is None else since + every


def initial_plan(policy: Policy, severity: str, started_at: datetime) -> list[PlannedStep]:
    """What declaring schedules: L1's page now, the response-target warning, the first reminder.

    Later pages are planned when the previous one is actually sent, because a level's window
    counts from its own page, which may go out late.
    """
    first = chain(policy, severity)[0]
    steps = [
        PlannedStep(PAGE, started_at, level=first.key, key=page_key(first.key)),
        PlannedStep(
            TARGET_WARNING,
            response_deadline(policy, severity, started_at),
            key=TARGET_WARNING,
        ),
    ]
    reminder = update_reminder_due(policy, severity, started_at)
    if reminder is not None:
        steps.append(
            PlannedStep(
                UPDATE_REMINDER,
                reminder,
                key=reminder_key(1),
                data=reminder_data(1, started_at, since_update=False),
            )
        )
    return steps


def is_late(due_at: datetime, sent_at: datetime) -> bool:
    return sent_at - due_at > LATE_AFTER


def level_names(levels: Iterable[EscalationLevel]) -> str:
    """`L1 On-call Engineer, L2 Engineering Lead`: naming levels without mentioning anyone."""
    return ", ".join(f"{level.key} {level.name}" for level in levels)
