"""Block Kit and wording for pages, acknowledgements and reminders.

Only the people being paged are @-mentioned (Slack notifies every mention); other levels are
named ("L2 Engineering Lead") so the channel knows who is involved without waking anyone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ContextBlock, MarkdownTextObject

from app.domain.durations import format_duration
from app.domain.escalation import SNOOZE_CHOICES, level_names
from app.domain.formatting import human_minutes, short_time
from app.domain.policy import EscalationLevel, Policy
from app.ui.common import Message, escape, section
from app.ui.summary import ACKNOWLEDGE_ACTION

if TYPE_CHECKING:
    from app.store.models import Incident

ACK_ACTION = ACKNOWLEDGE_ACTION  # shared with the summary's button
SNOOZE_ACTION = "escalation_snooze"


def _incident_ref(incident: Incident, policy: Policy) -> str:
    return f"{incident.public_id} ({incident.severity} {policy.severity(incident.severity).name})"


def mentions(user_ids: Sequence[str]) -> str:
    return " ".join(f"<@{user}>" for user in user_ids)


def on_call_mentions(
    user_ids: Sequence[str], policy: Policy, on_call: Mapping[str, str] | None
) -> str:
    """Mentions, each person a schedule put on call followed by it: "<@U…> (Primary on-call)"."""
    named = on_call or {}
    schedules = policy.oncall.schedules
    return " ".join(
        f"<@{user}> ({escape(schedules[named[user]].title)})"
        if named.get(user) in schedules
        else f"<@{user}>"
        for user in user_ids
    )


def with_ack_button(text: str, incident: Incident) -> Message:
    return Message(
        text=text,
        blocks=[
            section(text),
            ActionsBlock(
                block_id="escalation_ack",
                elements=[
                    ButtonElement(
                        text="Acknowledge",
                        action_id=ACK_ACTION,
                        value=incident.public_id,
                        style="primary",
                    )
                ],
            ),
        ],
    )


def settled(text: str, note: str) -> Message:
    """A page or reminder once it needs no answer: its text, the buttons replaced by a note."""
    return Message(
        text=text,
        blocks=[section(text), ContextBlock(elements=[MarkdownTextObject(text=note)])],
    )


def notice(text: str) -> Message:
    return Message(text=text, blocks=[section(text)])


# ----------------------------------------------------------------------------------- pages


def page_text(
    incident: Incident,
    policy: Policy,
    level: EscalationLevel,
    targets: Sequence[str],
    *,
    paged_before: Sequence[EscalationLevel],
    next_level: EscalationLevel | None,
    waited: timedelta,
    problems: Sequence[str] = (),
    late_by: timedelta | None = None,
    on_call: Mapping[str, str] | None = None,
) -> str:
    """A page in the incident channel. `on_call` (user id -> schedule key, the page's data)
    names the schedule that put each person on call next to them."""
    ref = _incident_ref(incident, policy)
    who = on_call_mentions(targets, policy, on_call)
    if paged_before:
        lines = [
            f":rotating_light: *Escalating {ref} to {level.key} {level.name}*: {who}",
            f"Nobody has acknowledged: the incident has waited {human_minutes(waited)} since "
            f"it was declared. Already paged: {level_names(paged_before)}.",
        ]
    else:
        lines = [f":rotating_light: *Paging {level.key} {level.name}* for {ref}: {who}"]
    lines.append(_what_next(incident, level, next_level))
    if problems:
        lines.append(f"Could not page: {'; '.join(problems)}.")
    if late_by is not None:
        lines.append(
            f":hourglass: Sent {human_minutes(late_by)} late: the bot could not send it on time."
        )
    return "\n".join(lines)


def _what_next(
    incident: Incident, level: EscalationLevel, next_level: EscalationLevel | None
) -> str:
    if next_level is not None and level.window is not None:
        return (
            f"Acknowledge within {format_duration(level.window)}, or {next_level.key} "
            f"{next_level.name} is paged next."
        )
    return f"This is the last level for {incident.severity}: acknowledge when you are on it."


def dm_text(incident: Incident, policy: Policy, level: EscalationLevel) -> str:
    where = f" Join <#{incident.channel_id}>." if incident.channel_id else ""
    return (
        f":rotating_light: You are paged as {level.key} {level.name} for "
        f"*{_incident_ref(incident, policy)}*: {escape(incident.title)}.{where} "
        "Acknowledge here, or with `/incident ack` in the incident channel."
    )


def empty_level_text(
    incident: Incident,
    policy: Policy,
    level: EscalationLevel,
    next_level: EscalationLevel | None,
    problems: Sequence[str],
) -> str:
    why = "; ".join(problems) if problems else "its notify list is empty"
    lines = [
        f":warning: *{level.key} {level.name} has no one to page* for "
        f"{_incident_ref(incident, policy)} ({why})."
    ]
    if next_level is not None:
        lines.append(f"Moving on to {next_level.key} {next_level.name} now.")
    else:
        lines.append(
            f"It is the last level for {incident.severity}: nobody else will be paged. "
            "Use `/incident ack` once someone has this in hand."
        )
    return "\n".join(lines)


def acknowledged_note(user_id: str, at: datetime, waited: timedelta, tz: ZoneInfo) -> str:
    return (
        f":white_check_mark: Acknowledged by <@{user_id}> at {short_time(at, tz)}, "
        f"{human_minutes(waited)} after the incident was declared."
    )


def acknowledged_text(
    incident: Incident, policy: Policy, user_id: str, waited: timedelta, paged: Sequence[str]
) -> str:
    target = policy.severity(incident.severity).response_target
    text = (
        f":white_check_mark: <@{user_id}> acknowledged {incident.public_id} "
        f"{human_minutes(waited)} after it was declared. Escalation stopped"
    )
    text += f" (paged: {', '.join(paged)})." if paged else "."
    if waited > target:
        text += f" The {incident.severity} response target of {format_duration(target)} was missed."
    return text


RESOLVED_NOTE = ":large_green_circle: Resolved: no acknowledgement needed any more."


# ------------------------------------------------------------------------------- reminders


def target_warning_text(
    incident: Incident,
    policy: Policy,
    paged: Sequence[EscalationLevel],
    tz: ZoneInfo,
) -> str:
    target = policy.severity(incident.severity).response_target
    so_far = f"Paged so far: {level_names(paged)}." if paged else "Nobody has been paged yet."
    return (
        f":hourglass_flowing_sand: *{incident.public_id} has not been acknowledged within its "
        f"{incident.severity} response target of {format_duration(target)}* (declared "
        f"{short_time(incident.started_at, tz)}). {so_far} The breach is recorded in the "
        "incident log. Whoever is on it: `/incident ack`."
    )


def update_reminder(
    incident: Incident,
    policy: Policy,
    *,
    since: datetime,
    since_update: bool,
    now: datetime,
) -> Message:
    every = policy.severity(incident.severity).update_every
    cadence = (
        f"; {incident.severity} incidents post one every {format_duration(every)}" if every else ""
    )
    last = (
        f"the last one was {human_minutes(now - since)} ago"
        if since_update
        else f"none since the incident was declared {human_minutes(now - since)} ago"
    )
    text = (
        f":memo: *Status update due* for {incident.public_id}: {last}{cadence}. "
        "Post it with `/incident update <text>`."
    )
    buttons = [
        ButtonElement(
            text=f"Snooze {format_duration(choice)}",
            action_id=f"{SNOOZE_ACTION}_{int(choice.total_seconds())}",
            value=f"{incident.public_id}|{int(choice.total_seconds())}",
        )
        for choice in SNOOZE_CHOICES
    ]
    return Message(
        text=text,
        blocks=[section(text), ActionsBlock(block_id="escalation_snooze", elements=buttons)],
    )


def snoozed_note(user_id: str, until: datetime, tz: ZoneInfo) -> str:
    return f":zzz: Snoozed by <@{user_id}> until {short_time(until, tz)}."


def chain_changed_text(
    incident: Incident,
    policy: Policy,
    old: str,
    new: str,
    *,
    trimmed: Sequence[EscalationLevel],
    next_page: tuple[EscalationLevel, datetime] | None,
    tz: ZoneInfo,
) -> str | None:
    """What a severity change did to the escalation, or None if it changed nothing."""
    top = policy.level(policy.severity(new).escalate_to)
    if trimmed:
        return (
            f":arrow_down: {incident.public_id} is now {new} (was {old}): escalation stops at "
            f"{top.key} {top.name}; the page of {level_names(trimmed)} is cancelled."
        )
    if next_page is not None:
        level, due = next_page
        return (
            f":arrow_up: {incident.public_id} is now {new} (was {old}): escalation goes up to "
            f"{top.key} {top.name}. {level.key} {level.name} is paged at {short_time(due, tz)} "
            "unless someone acknowledges."
        )
    return None


def paged_beyond_slack_text(level: EscalationLevel, how: str) -> str:
    """A level with nobody in Slack paged by its other channels (its e-mail addresses,
    PagerDuty): said in the channel, once."""
    return (
        f":rotating_light: {level.key} {level.name} paged by {escape(how)} (nobody to page in "
        "Slack at this level). Acknowledge here to stop the escalation."
    )
