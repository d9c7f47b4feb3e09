"""Who is on call, as people read it: `/incident oncall`, its override answers, the App Home
tab and the hand-off DM. The same words everywhere, from the one answer of
`app.services.oncall`.

Times are shown in the schedule's time zone, and in the team's TIMEZONE too when it reads
differently. People are mentioned only by the user ids the bot holds (the policy's members,
the ids Slack resolved from a mention); a member given as an e-mail is shown as text.
Schedule names, incident titles and everything else configured or typed go through `escape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
)
from slack_sdk.models.views import View

from app.domain.formatting import format_time, short_time
from app.domain.policy.fields import USER_ID
from app.domain.policy.oncall import Schedule
from app.domain.rotation import Shift
from app.ui.common import Message, clip, escape, section

if TYPE_CHECKING:
    from app.store.models import Incident

__all__ = [
    "HOME_INCIDENTS",
    "NO_SCHEDULES",
    "handoff_message",
    "home_view",
    "incident_lines",
    "moment",
    "oncall_answer",
    "override_added",
    "override_removed",
    "overrides_list",
    "person",
    "schedule_text",
]

SCHEDULES_MAX = 40  # one section each: a message takes 50 blocks, a Home view 100
HOME_INCIDENTS = 10  # the Home tab's short list; `/incident list` has them all
DM_INCIDENTS = 15
OVERRIDES_MAX = 30
OVERRIDE_HINT = (
    "Put someone on call: `/incident oncall override @name from now until +8h [schedule]` · "
    "`/incident oncall overrides` lists them · `/incident oncall remove <id>`"
)
NO_SCHEDULES = (
    "The policy has no on-call schedules yet, so I cannot say who is on call. Add them under "
    "`oncall.schedules` in the policy file (members in rotation order, the rotation, the "
    "hand-off time and the time zone), then name them in an escalation level with "
    '`notify: [schedule:<key>]`; see README "On-call".'
)


class ScheduleState(Protocol):
    """One schedule at one instant (`app.services.oncall.OnCall`)."""

    @property
    def schedule(self) -> Schedule: ...

    @property
    def now(self) -> Shift | None: ...

    @property
    def backup(self) -> Shift | None: ...

    @property
    def next(self) -> Shift | None: ...


class StoredOverride(Protocol):
    """An override as stored (`app.services.overrides.OverrideRecord`)."""

    @property
    def id(self) -> int: ...

    @property
    def schedule(self) -> str: ...

    @property
    def user_id(self) -> str: ...

    @property
    def starts_at(self) -> datetime: ...

    @property
    def ends_at(self) -> datetime: ...

    @property
    def created_by(self) -> str: ...


# ------------------------------------------------------------------------------- pieces


def person(member: str) -> str:
    """A mention for a user id the bot holds; anything else (an e-mail member) as text."""
    return f"<@{member}>" if USER_ID.fullmatch(member) else escape(member)


def moment(when: datetime, tz: ZoneInfo, team_tz: ZoneInfo) -> str:
    """`2026-12-24 18:00 CET`, with the team's reading when it differs:
    `2026-12-24 12:00 EST (18:00 CET team time)` (the date too when it is another day)."""
    here = format_time(when, tz)
    team = format_time(when, team_tz)
    if team == here:
        return here
    if when.astimezone(tz).date() == when.astimezone(team_tz).date():
        team = short_time(when, team_tz)
    return f"{here} ({team} team time)"


def _until(shift: Shift, tz: ZoneInfo, team_tz: ZoneInfo) -> str:
    if shift.ends_at is None:
        return "with no hand-off ahead"
    return f"until {moment(shift.ends_at, tz, team_tz)}"


def schedule_text(state: ScheduleState, team_tz: ZoneInfo) -> str:
    """One schedule: who is on now (since, until), the backup, who is next and when."""
    schedule = state.schedule
    tz = schedule.tz
    lines = [f"*{escape(schedule.title)}* (`{schedule.key}`, {tz.key})"]
    current = state.now
    if current is None:
        lines.append("• Nobody is on call now (the rotation has not started).")
    else:
        kind = " · _override_" if current.override else ""
        lines.append(
            f"• *On call now:* {person(current.user)} since "
            f"{moment(current.starts_at, tz, team_tz)} {_until(current, tz, team_tz)}{kind}"
        )
    if state.backup is not None:
        lines.append(f"• *Backup:* {person(state.backup.user)}")
    elif current is not None:
        lines.append("• *Backup:* none")
    upcoming = state.next
    if upcoming is not None:
        kind = " · _override_" if upcoming.override else ""
        lines.append(
            f"• *Next:* {person(upcoming.user)} from "
            f"{moment(upcoming.starts_at, tz, team_tz)}{kind}"
        )
    else:
        lines.append("• *Next:* nobody ahead")
    return "\n".join(lines)


def _states_text(states: Sequence[ScheduleState], team_tz: ZoneInfo) -> list[str]:
    texts = [schedule_text(state, team_tz) for state in states[:SCHEDULES_MAX]]
    if len(states) > SCHEDULES_MAX:
        texts.append(f"…and {len(states) - SCHEDULES_MAX} more schedules.")
    return texts


# ------------------------------------------------------------------------ /incident oncall


def oncall_answer(states: Sequence[ScheduleState], team_tz: ZoneInfo, at: datetime) -> Message:
    """`/incident oncall`: every schedule of the policy at `at`."""
    if not states:
        return Message(text=NO_SCHEDULES, blocks=[section(NO_SCHEDULES)])
    head = f":calendar: *Who is on call* ({format_time(at, team_tz)})"
    texts = _states_text(states, team_tz)
    blocks: list[Block] = [section(head), *(section(text) for text in texts)]
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=OVERRIDE_HINT)]))
    return Message(text=clip("\n\n".join([head, *texts]), 3000), blocks=blocks)


def _span(record: StoredOverride, schedule: Schedule | None, team_tz: ZoneInfo) -> str:
    tz = schedule.tz if schedule is not None else team_tz
    return (
        f"from {moment(record.starts_at, tz, team_tz)} until {moment(record.ends_at, tz, team_tz)}"
    )


def _title(key: str, schedule: Schedule | None) -> str:
    return (
        f"*{escape(schedule.title)}*"
        if schedule is not None
        else f"`{key}` (no longer in the policy)"
    )


def override_added(
    record: StoredOverride, state: ScheduleState, team_tz: ZoneInfo, *, started_late: bool
) -> str:
    late = " (the start you gave has passed, so it starts now)" if started_late else ""
    return (
        f":white_check_mark: Override `#{record.id}`: {person(record.user_id)} is on call for "
        f"{_title(record.schedule, state.schedule)} "
        f"{_span(record, state.schedule, team_tz)}{late}, instead of the rotation.\n\n"
        f"{schedule_text(state, team_tz)}\n\n_Remove it with `/incident oncall remove "
        f"{record.id}`._"
    )


def override_removed(record: StoredOverride, state: ScheduleState | None, team_tz: ZoneInfo) -> str:
    schedule = state.schedule if state is not None else None
    text = (
        f":wastebasket: Override `#{record.id}` removed: {person(record.user_id)} on call for "
        f"{_title(record.schedule, schedule)} {_span(record, schedule, team_tz)}."
    )
    if state is not None:
        text += f"\n\n{schedule_text(state, team_tz)}"
    return text


def overrides_list(
    records: Sequence[StoredOverride],
    schedules: dict[str, Schedule],
    team_tz: ZoneInfo,
    at: datetime,
) -> str:
    """`/incident oncall overrides`: those in force or ahead, with their ids."""
    if not records:
        return (
            "No overrides in force or ahead. Add one with "
            "`/incident oncall override @name from now until +8h [schedule]`."
        )
    lines = [f"*On-call overrides in force or ahead* ({len(records)})"]
    for record in records[:OVERRIDES_MAX]:
        schedule = schedules.get(record.schedule)
        running = " · _in force now_" if record.starts_at <= at else ""
        lines.append(
            f"• `#{record.id}` {_title(record.schedule, schedule)}: {person(record.user_id)} "
            f"{_span(record, schedule, team_tz)} (by {person(record.created_by)}){running}"
        )
    if len(records) > OVERRIDES_MAX:
        lines.append(f"…and {len(records) - OVERRIDES_MAX} more.")
    lines.append("_Remove one with `/incident oncall remove <id>`._")
    return "\n".join(lines)


# ----------------------------------------------------------------------- incidents, Home


def incident_lines(incidents: Sequence[Incident], limit: int) -> list[str]:
    """Open incidents, one line each: severity, id, title (escaped), channel."""
    lines = []
    for incident in incidents[:limit]:
        lock = ":lock: " if incident.private else ""
        where = f" · <#{incident.channel_id}>" if incident.channel_id else ""
        lines.append(
            f"• {lock}*{incident.severity}* `{incident.public_id}` "
            f"{escape(clip(incident.title, 200))}{where}"
        )
    if len(incidents) > limit:
        lines.append(f"…and {len(incidents) - limit} more: `/incident list`.")
    return lines


def home_view(
    states: Sequence[ScheduleState],
    incidents: Sequence[Incident],
    team_tz: ZoneInfo,
    at: datetime,
    *,
    unchecked: bool = False,
) -> View:
    """The App Home tab: who is on call (as `/incident oncall`), then the open incidents."""
    blocks: list[Block] = [HeaderBlock(text="On call")]
    if states:
        blocks += [section(text) for text in _states_text(states, team_tz)]
    else:
        blocks.append(section(NO_SCHEDULES))
    blocks += [DividerBlock(), HeaderBlock(text="Open incidents")]
    if incidents:
        blocks.append(section("\n".join(incident_lines(incidents, HOME_INCIDENTS))))
    else:
        blocks.append(section("No open incidents. :tada:"))
    if unchecked:
        blocks.append(
            section(
                "_Slack could not say which incident channels you are in: some may be missing._"
            )
        )
    footer = f"As of {format_time(at, team_tz)} · {OVERRIDE_HINT}"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=footer)]))
    return View(type="home", blocks=blocks)


# ------------------------------------------------------------------------------ hand-offs


def handoff_message(
    schedule: Schedule,
    came_on: datetime,
    shift: Shift,
    backup: Shift | None,
    incidents: Sequence[Incident],
    team_tz: ZoneInfo,
) -> Message:
    """The DM to the person coming on call, with the open incidents they may see."""
    tz = schedule.tz
    head = (
        f":pager: You are on call for *{escape(schedule.title)}* from "
        f"{moment(came_on, tz, team_tz)} {_until(shift, tz, team_tz)}."
    )
    if shift.override:
        head += " (an override)"
    if backup is not None:
        head += f"\nYour backup: {person(backup.user)}."
    if incidents:
        body = f"*Open incidents* ({len(incidents)}):\n" + "\n".join(
            incident_lines(incidents, DM_INCIDENTS)
        )
    else:
        body = "No incidents are open right now. :tada:"
    footer = "Who else is on call: `/incident oncall` (or this app's Home tab)."
    text = f"{head}\n\n{body}\n\n{footer}"
    return Message(
        text=clip(text, 3000),
        blocks=[
            section(head),
            section(body),
            ContextBlock(elements=[MarkdownTextObject(text=footer)]),
        ],
    )
