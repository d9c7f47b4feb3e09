"""Messages posted while an incident runs and after it closes: status updates, the resolution
note, review and action-item reminders, the incident list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, MarkdownTextObject, SectionBlock

from app.domain import lifecycle
from app.domain.durations import format_elapsed
from app.domain.formatting import duration_text, format_time, item_line
from app.ui.common import Message, clip, escape, section
from app.ui.followup import done_button, review_held_button

if TYPE_CHECKING:
    from app.store.models import ActionItem, Incident

LIST_MAX = 40


def review_owner_id(incident: Incident) -> str:
    """Who is asked to hold the review: the lead, or the reporter when nobody led."""
    return incident.lead_id or incident.reporter_id


def status_update(incident: Incident, text: str, actor_id: str, *, broadcast: bool) -> Message:
    """`text` is the update as its author typed it: shown literally."""
    where = f" in <#{incident.channel_id}>" if broadcast else ""
    head = (
        f":mega: *Status update* on {incident.public_id} ({incident.severity} · "
        f"{lifecycle.label(incident.status)}) from <@{actor_id}>{where}"
    )
    if broadcast:
        head += f": {escape(incident.title)}"
    body = f"{head}\n{escape(text)}"
    return Message(text=clip(body, 3000), blocks=[section(body)])


def resolved_comment(incident: Incident, review_due: datetime, tz: ZoneInfo) -> str:
    """The note that comes with the post-mortem draft when an incident is resolved."""
    lines = [
        f":white_check_mark: *{incident.public_id} is resolved* after "
        f"{duration_text(incident)} (by <@{incident.resolved_by}>).",
        f"Resolution: {escape(incident.resolution)}",
        "Here is the post-mortem draft, filled in from the timeline.",
        f"<@{review_owner_id(incident)}>: hold the post-incident review by "
        f"{format_time(review_due, tz)}, then press *Mark review held* on the pinned summary.",
    ]
    return "\n".join(lines)


def postmortem_comment(incident: Incident, actor_id: str) -> str:
    return (
        f":page_facing_up: Post-mortem draft of {incident.public_id}, rendered from the current "
        f"timeline for <@{actor_id}>."
    )


def review_reminder(incident: Incident, *, now: datetime, due: datetime, tz: ZoneInfo) -> Message:
    owner = f"<@{review_owner_id(incident)}>"
    if now < due:
        text = (
            f":calendar: {owner} The post-incident review of *{incident.public_id}* "
            f"({escape(incident.title)}) is due by {format_time(due, tz)}, "
            f"{format_elapsed(due - now)} from now."
        )
    else:
        text = (
            f":warning: {owner} The post-incident review of *{incident.public_id}* "
            f"({escape(incident.title)}) was due {format_time(due, tz)} and is not marked held "
            "yet."
        )
    text += (
        "\nAgenda (from the plan): timeline, root cause, response, action items, communication. "
        "`/incident postmortem` posts the draft again."
    )
    blocks: list[Block] = [
        section(text),
        ActionsBlock(block_id="review", elements=[review_held_button(incident)]),
    ]
    return Message(text=clip(text, 3000), blocks=blocks)


def review_held(incident: Incident, actor_id: str) -> Message:
    text = (
        f":white_check_mark: The post-incident review of {incident.public_id} is held "
        f"(marked by <@{actor_id}>)."
    )
    return Message(text=text, blocks=[section(text)])


def action_item_assigned(item: ActionItem, incident: Incident, actor_id: str) -> Message:
    text = (
        f":clipboard: <@{actor_id}> gave you an action item from *{incident.public_id}* "
        f"(<#{incident.channel_id}>):\n{item_line(item)}"
    )
    return Message(text=clip(text, 3000), blocks=[_with_done(text, item)])


def action_item_reminder(item: ActionItem, incident: Incident) -> Message:
    owner = f"<@{item.owner_id}>" if item.owner_id else "Nobody owns this item:"
    due = item.due_on.isoformat() if item.due_on else "?"
    text = (
        f":alarm_clock: {owner} an action item from *{incident.public_id}* "
        f"(<#{incident.channel_id}>) was due {due} and is not done:\n{escape(item.text)}"
    )
    return Message(text=clip(text, 3000), blocks=[_with_done(text, item)])


def _with_done(text: str, item: ActionItem) -> SectionBlock:
    return SectionBlock(
        block_id=f"action_item_{item.id}",
        text=MarkdownTextObject(text=clip(text, 3000)),
        accessory=done_button(item),
    )


def action_item_done(item: ActionItem, actor_id: str) -> Message:
    text = f":white_check_mark: Done: {escape(item.text)} (marked by <@{actor_id}>)"
    return Message(text=clip(text, 3000), blocks=[section(text)])


def incident_list(incidents: Sequence[Incident], now: datetime) -> str:
    """Open incidents, in the order given (most severe first)."""
    if not incidents:
        return "No open incidents. :tada:"
    lines = [f"*Open incidents* ({len(incidents)})"]
    for incident in incidents[:LIST_MAX]:
        lock = ":lock: " if incident.private else ""
        lead = f"lead <@{incident.lead_id}>" if incident.lead_id else "no lead"
        lines.append(
            f"• {lock}*{incident.severity}* `{incident.public_id}` {escape(incident.title)} · "
            f"{lifecycle.label(incident.status)} · {lead} · open "
            f"{format_elapsed(now - incident.started_at)} · <#{incident.channel_id}>"
        )
    if len(incidents) > LIST_MAX:
        lines.append(f"…and {len(incidents) - LIST_MAX} more.")
    return "\n".join(lines)


def declared_elsewhere(incident: Incident) -> Message:
    """What the reporter sees where they declared, once the incident's channel exists."""
    text = (
        f":point_right: {incident.public_id} ({incident.severity}: {escape(incident.title)}) is "
        f"open in <#{incident.channel_id}>: follow it and update it there."
    )
    return Message(text=clip(text, 3000), blocks=[section(clip(text, 3000))])
