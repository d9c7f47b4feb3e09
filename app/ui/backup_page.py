"""The wording of a backup page: the DM to a schedule's backup (the level's page DM, with its
Acknowledge button, after a line saying why they are paged), what the channel is told, and
the one notice when there is no backup to page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from app.domain.durations import format_duration
from app.domain.formatting import short_time
from app.domain.policy import EscalationLevel, Policy
from app.ui.common import escape
from app.ui.escalation import dm_text, on_call_mentions

if TYPE_CHECKING:
    from app.store.models import Incident


@dataclass(frozen=True)
class BackupReason:
    """Why a backup is paged, and what comes next: every backup message says it."""

    primaries: Sequence[str]  # the people the level's page reached (whom a schedule named)
    on_call: Mapping[str, str]  # of those, user -> the schedule key that named them
    after: timedelta  # the level's backup_after
    next_page: tuple[EscalationLevel, datetime] | None  # the next level and when
    problems: Sequence[str]
    tz: ZoneInfo

    def why(self, policy: Policy) -> str:
        who = on_call_mentions(self.primaries, policy, self.on_call) or "Nobody paged"
        verb = "have" if len(self.primaries) > 1 else "has"
        return f"{who} {verb} not acknowledged within {format_duration(self.after)}"

    def what_next(self, incident: Incident) -> str:
        if self.next_page is None:
            return (
                f"This is the last level for {incident.severity}: acknowledge when you are on it."
            )
        level, due = self.next_page
        return (
            f"{level.key} {level.name} is paged at {short_time(due, self.tz)} unless someone "
            "acknowledges."
        )


def _backups(users: Sequence[str], policy: Policy, backing: Mapping[str, str]) -> str:
    """ "<@U…> (backup of Primary on-call)" for each backup."""
    schedules = policy.oncall.schedules
    return " ".join(
        f"<@{user}> (backup of {escape(schedules[backing[user]].title)})"
        if backing.get(user) in schedules
        else f"<@{user}>"
        for user in users
    )


def backup_dm_text(
    incident: Incident, policy: Policy, level: EscalationLevel, reason: BackupReason
) -> str:
    """The backup's DM: why them, then the level's page DM (sent with its Acknowledge button)."""
    return f":sos: {reason.why(policy)}: you are paged as the backup.\n" + dm_text(
        incident, policy, level
    )


def backup_channel_text(
    incident: Incident,
    policy: Policy,
    level: EscalationLevel,
    backups: Sequence[str],
    backing: Mapping[str, str],
    reason: BackupReason,
) -> str:
    """What the channel is told (a notice: the Acknowledge buttons are the page's and DMs')."""
    lines = [
        f":sos: *Paging the backup for {level.key} {level.name}* for {incident.public_id}: "
        f"{_backups(backups, policy, backing)}",
        f"{reason.why(policy)}. {reason.what_next(incident)}",
    ]
    if reason.problems:
        lines.append(f"Could not page: {'; '.join(reason.problems)}.")
    return "\n".join(lines)


def no_backup_text(
    incident: Incident, policy: Policy, level: EscalationLevel, reason: BackupReason
) -> str:
    why = f" ({'; '.join(reason.problems)})" if reason.problems else ""
    return (
        f":warning: *No backup to page for {level.key} {level.name}*{why}. "
        f"{reason.why(policy)}. {reason.what_next(incident)}"
    )
