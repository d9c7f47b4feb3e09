"""A dry run of the policy: what an incident of one severity pages, and when, if nobody answers.

Pure, for `incident-bot simulate` and `check`: no Slack, no database. It walks the same plan
the engine follows (`app.domain.escalation`): L1 is paged at declaration (outside working hours,
at the next start of them or not at all, as the severity's `outside_hours` says), each level
that paged someone waits its own window before the next, a level with nobody to page is skipped
at once, and the chain stops at the severity's `escalate_to`. A `schedule:<key>` target names
whoever the rotation has on call at that page's time, and a level's `backup_after` pages the
schedule's backup. Other targets are shown as written; which user a usergroup or an email names
is only known when Slack is asked, at send time. Overrides live in the database, which a dry
run does not read: the rotation is shown as the policy writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain import escalation as plan
from app.domain.escalation import Paging
from app.domain.policy import EscalationLevel, Policy, Severity
from app.domain.policy.fields import HANDLE, USER_ID
from app.domain.rotation import backup_of, on_call

__all__ = [
    "MAX_REMINDERS",
    "Page",
    "Simulation",
    "Target",
    "empty_levels",
    "simulate",
]

# Reminders repeat until the incident is resolved; a dry run lists at most this many.
MAX_REMINDERS = 6
SCHEDULE_PREFIX = "schedule:"


@dataclass(frozen=True)
class Target:
    """One `notify` entry as written, what kind of name it is, and for a schedule who its
    rotation has on call (or backing up) at the page's time."""

    value: str
    kind: str  # "user", "usergroup", "email" or "schedule"
    on_call: str | None = None  # schedules: the person; None: nobody on call then
    schedule: str = ""  # schedules: the schedule's name

    @classmethod
    def of(cls, entry: str, policy: Policy | None = None, at: datetime | None = None) -> Target:
        if USER_ID.fullmatch(entry):
            return cls(entry, "user")
        if HANDLE.fullmatch(entry):
            return cls(entry, "usergroup")
        if entry.startswith(SCHEDULE_PREFIX) and policy is not None and at is not None:
            schedule = policy.oncall.schedules[entry.removeprefix(SCHEDULE_PREFIX)]
            shift = on_call(schedule, at)
            return cls(entry, "schedule", shift.user if shift else None, schedule.title)
        return cls(entry, "email")

    @property
    def names_someone(self) -> bool:
        """Whether the entry may reach someone (a schedule with nobody on call does not)."""
        return self.kind != "schedule" or self.on_call is not None


@dataclass(frozen=True)
class Page:
    """A level's page: when it falls due and whom it names."""

    at: datetime
    level: EscalationLevel
    targets: tuple[Target, ...]
    # The level paged after this one (None: the chain stops here), and when.
    next_level: EscalationLevel | None
    next_at: datetime | None
    # When it would have gone out without working hours (None: it was not deferred).
    deferred_from: datetime | None = None
    # The level's schedules' backups, paged at `backup_at` (the level's backup_after).
    backup_at: datetime | None = None
    backups: tuple[Target, ...] = ()

    @property
    def empty(self) -> bool:
        """Nobody to page: the engine posts one notice and pages the next level at once."""
        return not any(target.names_someone for target in self.targets)


@dataclass(frozen=True)
class Simulation:
    """Everything an unanswered incident of `severity` sets in motion, in time order per kind."""

    severity: Severity
    started_at: datetime
    # Empty when the severity pages nobody outside working hours (`paging.silent`).
    pages: tuple[Page, ...]
    target_warning_at: datetime
    reminders: tuple[datetime, ...]
    # Levels of the escalation path this severity never reaches (above its cap, or critical_only).
    unreached: tuple[EscalationLevel, ...]
    # What working hours made of the declaration: page now, later, or nobody.
    paging: Paging | None = None

    @property
    def last_level(self) -> EscalationLevel | None:
        """Where the chain stops (None: nobody is paged at all)."""
        return self.pages[-1].level if self.pages else None

    @property
    def empty_levels(self) -> tuple[EscalationLevel, ...]:
        return tuple(page.level for page in self.pages if page.empty)

    @property
    def names_schedules(self) -> bool:
        return any(t.kind == "schedule" for page in self.pages for t in page.targets)


def empty_levels(policy: Policy, severity: str) -> list[EscalationLevel]:
    """The levels `severity` may page whose `notify` lists nobody."""
    return [level for level in plan.chain(policy, severity) if not level.notify]


def _backups(policy: Policy, level: EscalationLevel, at: datetime) -> tuple[Target, ...]:
    found = []
    for key in level.schedules:
        schedule = policy.oncall.schedules[key]
        shift = backup_of(policy.oncall, schedule, at)
        found.append(
            Target(SCHEDULE_PREFIX + key, "schedule", shift.user if shift else None, schedule.title)
        )
    return tuple(found)


def _page(
    policy: Policy,
    severity: str,
    level: EscalationLevel,
    at: datetime,
    deferred_from: datetime | None,
) -> Page:
    following = plan.level_after(policy, severity, level.key)
    targets = tuple(Target.of(entry, policy, at) for entry in level.notify)
    backup_at = None
    backups: tuple[Target, ...] = ()
    if level.backup_after is not None and level.schedules:
        backup_at = at + level.backup_after
        backups = _backups(policy, level, backup_at)
    if not any(target.names_someone for target in targets):
        next_at = at if following is not None else None  # skipped: the next one at once
    else:
        due = plan.next_page_due(policy, severity, level.key, at)
        next_at = due[1] if due is not None else None
    return Page(at, level, targets, following, next_at, deferred_from, backup_at, backups)


def _pages(policy: Policy, severity: str, at: datetime, paging: Paging) -> list[Page]:
    """The chain from L1's page at `at`: each level after the previous one's window."""
    pages: list[Page] = []
    for level in plan.chain(policy, severity):
        deferred_from = paging.asked if paging.deferred and not pages else None
        page = _page(policy, severity, level, at, deferred_from)
        pages.append(page)
        if page.next_at is None:
            break
        at = page.next_at
    return pages


def simulate(policy: Policy, severity: str, started_at: datetime) -> Simulation:
    """What declaring `severity` at `started_at` schedules when nobody ever acknowledges.

    Raises KeyError (with the known keys) for a severity the policy does not have.
    """
    initial = {step.kind: step for step in plan.initial_plan(policy, severity, started_at)}
    paging = plan.when_paged(policy, severity, started_at)
    first = initial.get(plan.PAGE)
    pages = [] if first is None else _pages(policy, severity, first.due_at, paging)
    reached = {level.key for level in plan.chain(policy, severity)}
    unreached = tuple(level for level in policy.escalation.levels if level.key not in reached)
    warning_at = initial[plan.TARGET_WARNING].due_at
    until = max(pages[-1].at, warning_at) if pages else warning_at
    return Simulation(
        severity=policy.severity(severity),
        started_at=started_at,
        pages=tuple(pages),
        target_warning_at=warning_at,
        reminders=_reminders(policy, severity, initial, until),
        unreached=unreached,
        paging=paging,
    )


def _reminders(
    policy: Policy, severity: str, initial: dict[str, plan.PlannedStep], until: datetime
) -> tuple[datetime, ...]:
    """The update reminders due by `until` (the escalation's end): at least the first one."""
    first = initial.get(plan.UPDATE_REMINDER)
    if first is None:
        return ()
    due: list[datetime] = [first.due_at]
    while len(due) < MAX_REMINDERS:
        following = plan.update_reminder_due(policy, severity, due[-1])
        if following is None or following > until:
            break
        due.append(following)
    return tuple(due)
