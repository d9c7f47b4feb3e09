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
from app.domain.policy.oncall import OutsideHours, WorkingHours
from app.domain.rotation import is_working, next_working_start

__all__ = [
    "DEFERRED_FROM",
    "PAGE",
    "Paging",
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
    "when_paged",
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

# In a page's data: when it would have gone out had working hours not deferred it (ISO 8601).
DEFERRED_FROM = "deferred_from"

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


@dataclass(frozen=True)
class Paging:
    """When a severity may page, asked at `asked` (a declaration, a severity change), with the
    policy's working hours applied: `at` is `asked` itself, the next start of working hours
    (`next_working_hours`), or None (`none`: nobody is paged)."""

    asked: datetime
    at: datetime | None
    # The rule that decided: "page" also when the policy has no working hours, or it is
    # within them.
    rule: OutsideHours
    hours: WorkingHours | None = None

    @property
    def deferred(self) -> bool:
        return self.at is not None and self.at > self.asked

    @property
    def silent(self) -> bool:
        """Nobody is paged (outside working hours, `outside_hours: none`)."""
        return self.at is None


def when_paged(policy: Policy, severity: str, at: datetime) -> Paging:
    """Whether `severity` pages at `at`, later, or not at all.

    Outside the policy's `working_hours`, the severity's `outside_hours` decides: `page` (now),
    `next_working_hours` (the plan's "same day" / "next business day": from the next start of
    working hours, holidays skipped), or `none`. A policy without working hours always pages.
    """
    hours = policy.working_hours
    rule = policy.severity(severity).outside_hours
    if hours is None or rule == "page" or is_working(hours, at):
        return Paging(at, at, "page", hours)
    if rule == "none":
        return Paging(at, None, rule, hours)
    return Paging(at, next_working_start(hours, at), rule, hours)


def initial_plan(policy: Policy, severity: str, started_at: datetime) -> list[PlannedStep]:
    """What declaring schedules: L1's page, the response-target warning, the first reminder.

    L1 is paged at declaration, or (outside working hours) at the next start of working hours
    or never, as the severity's `outside_hours` says. The response target still counts from
    the declaration; the first update reminder from L1's page. Later pages are planned when
    the previous one is actually sent, because a level's window counts from its own page,
    which may go out late.
    """
    first = chain(policy, severity)[0]
    paging = when_paged(policy, severity, started_at)
    steps = []
    if paging.at is not None:
        data = {DEFERRED_FROM: started_at.isoformat()} if paging.deferred else {}
        steps.append(
            PlannedStep(PAGE, paging.at, level=first.key, key=page_key(first.key), data=data)
        )
    steps.append(
        PlannedStep(
            TARGET_WARNING,
            response_deadline(policy, severity, started_at),
            key=TARGET_WARNING,
        )
    )
    # A deferred incident's first update reminder counts from L1's page: nobody is working
    # before it to post an update.
    reminder = update_reminder_due(policy, severity, paging.at or started_at)
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
