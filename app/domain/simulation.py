"""A dry run of the policy: what an incident of one severity pages, and when, if nobody answers.

Pure, for `incident-bot simulate` and `check`: no Slack, no database. It walks the same plan
the engine follows (`app.domain.escalation`): L1 is paged at declaration, each level that paged
someone waits its own window before the next, a level with nobody to page is skipped at once,
and the chain stops at the severity's `escalate_to`. Targets are shown as written; which user
a usergroup or an email names is only known when Slack is asked, at send time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain import escalation as plan
from app.domain.policy import EscalationLevel, Policy, Severity
from app.domain.policy.fields import HANDLE, USER_ID

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


@dataclass(frozen=True)
class Target:
    """One `notify` entry as written, and what kind of Slack name it is."""

    value: str
    kind: str  # "user", "usergroup" or "email"

    @classmethod
    def of(cls, entry: str) -> Target:
        if USER_ID.fullmatch(entry):
            return cls(entry, "user")
        if HANDLE.fullmatch(entry):
            return cls(entry, "usergroup")
        return cls(entry, "email")


@dataclass(frozen=True)
class Page:
    """A level's page: when it falls due and whom it names."""

    at: datetime
    level: EscalationLevel
    targets: tuple[Target, ...]
    # The level paged after this one (None: the chain stops here), and when.
    next_level: EscalationLevel | None
    next_at: datetime | None

    @property
    def empty(self) -> bool:
        """Nobody to page: the engine posts one notice and pages the next level at once."""
        return not self.targets


@dataclass(frozen=True)
class Simulation:
    """Everything an unanswered incident of `severity` sets in motion, in time order per kind."""

    severity: Severity
    started_at: datetime
    pages: tuple[Page, ...]
    target_warning_at: datetime
    reminders: tuple[datetime, ...]
    # Levels of the escalation path this severity never reaches (above its cap, or critical_only).
    unreached: tuple[EscalationLevel, ...]

    @property
    def last_level(self) -> EscalationLevel:
        """Where the chain stops."""
        return self.pages[-1].level

    @property
    def empty_levels(self) -> tuple[EscalationLevel, ...]:
        return tuple(page.level for page in self.pages if page.empty)


def empty_levels(policy: Policy, severity: str) -> list[EscalationLevel]:
    """The levels `severity` may page whose `notify` lists nobody."""
    return [level for level in plan.chain(policy, severity) if not level.notify]


def simulate(policy: Policy, severity: str, started_at: datetime) -> Simulation:
    """What declaring `severity` at `started_at` schedules when nobody ever acknowledges.

    Raises KeyError (with the known keys) for a severity the policy does not have.
    """
    initial = {step.kind: step for step in plan.initial_plan(policy, severity, started_at)}
    levels = plan.chain(policy, severity)
    pages: list[Page] = []
    at = initial[plan.PAGE].due_at
    for level in levels:
        following = plan.level_after(policy, severity, level.key)
        if not level.notify:
            next_at = at if following is not None else None  # skipped: the next one at once
        else:
            due = plan.next_page_due(policy, severity, level.key, at)
            next_at = due[1] if due is not None else None
        targets = tuple(Target.of(entry) for entry in level.notify)
        pages.append(Page(at, level, targets, following, next_at))
        if next_at is None:
            break
        at = next_at
    reached = {page.level.key for page in pages}
    unreached = tuple(level for level in policy.escalation.levels if level.key not in reached)
    warning_at = initial[plan.TARGET_WARNING].due_at
    return Simulation(
        severity=policy.severity(severity),
        started_at=started_at,
        pages=tuple(pages),
        target_warning_at=warning_at,
        reminders=_reminders(policy, severity, initial, max(pages[-1].at, warning_at)),
        unreached=unreached,
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
