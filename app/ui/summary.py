"""An incident's standing in Slack: the pinned summary and its buttons, the channel topic, the
broadcast announcement, and the note when part of the channel's setup failed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from app.domain.durations import format_duration
from app.domain.escalation import Paging, chain, when_paged
from app.domain.formatting import duration_text, format_time, item_line
from app.domain.policy import Policy
from app.ui.common import (
    HEADER_MAX,
    Message,
    clip,
    escape,
    section,
    severity_label,
    status_label,
)
from app.ui.followup import done_button, review_held_button
from app.ui.tickets import ticket_link, tracker_title

if TYPE_CHECKING:
    from app.store.models import ActionItem, Incident, TicketRecord

__all__ = [
    "ACKNOWLEDGE_ACTION",
    "CHANGE_SEVERITY_ACTION",
    "CHANGE_STATUS_ACTION",
    "RESOLVE_ACTION",
    "announcement",
    "channel_topic",
    "escalation_path",
    "no_channel_text",
    "outside_hours_note",
    "paged_when",
    "review_text",
    "setup_failed_text",
    "summary_buttons",
    "summary_message",
]

TOPIC_MAX = 250
SUMMARY_ITEMS_SHOWN = 10

# Action ids of the summary's buttons. Acknowledge is the escalation engine's: the same action
# on pages and on the summary.
ACKNOWLEDGE_ACTION = "escalation_ack"
CHANGE_SEVERITY_ACTION = "incident_change_severity"
CHANGE_STATUS_ACTION = "incident_change_status"
RESOLVE_ACTION = "incident_resolve"


def channel_topic(incident: Incident, policy: Policy) -> str:
    """Plain text: conversations.setTopic does not format or linkify, so nothing is escaped."""
    sev = policy.severity(incident.severity)
    topic = (
        f"{incident.public_id} | {incident.severity} {sev.name} | "
        f"{status_label(incident.status)} | {incident.title}"
    )
    return clip(topic, TOPIC_MAX)


def summary_buttons(incident: Incident) -> list[ButtonElement]:
    value = str(incident.id)
    if not incident.is_open:
        return [review_held_button(incident)] if incident.review_held_at is None else []
    buttons = []
    if incident.acknowledged_at is None:
        buttons.append(
            ButtonElement(
                text="Acknowledge",
                action_id=ACKNOWLEDGE_ACTION,
                value=incident.public_id,
                style="primary",
            )
        )
    return [
        *buttons,
        ButtonElement(text="Change severity", action_id=CHANGE_SEVERITY_ACTION, value=value),
        ButtonElement(text="Change status", action_id=CHANGE_STATUS_ACTION, value=value),
        ButtonElement(text="Resolve", action_id=RESOLVE_ACTION, value=value),
    ]


def review_text(incident: Incident, policy: Policy, tz: ZoneInfo) -> str:
    if incident.review_held_at is not None:
        return f"Held {format_time(incident.review_held_at, tz)} (<@{incident.review_held_by}>)"
    if incident.resolved_at is None:
        return ""
    return f"Due by {format_time(incident.resolved_at + policy.review_within, tz)}"


def summary_message(
    incident: Incident,
    policy: Policy,
    tz: ZoneInfo,
    action_items: Sequence[ActionItem] = (),
    tickets: Sequence[TicketRecord] = (),
) -> Message:
    """The pinned summary, kept current in place: what the plan says a responder needs first,
    then where the incident stands (status, lead, its ticket, open action items, each with
    its own ticket) and its buttons."""
    sev = policy.severity(incident.severity)
    lead = f"<@{incident.lead_id}>" if incident.lead_id else "Unassigned: `/incident lead @someone`"
    fields = [
        MarkdownTextObject(text=f"*Severity*\n{severity_label(policy, incident.severity)}"),
        MarkdownTextObject(text=f"*Status*\n{status_label(incident.status)}"),
        MarkdownTextObject(text=f"*Lead*\n{lead}"),
        MarkdownTextObject(text=f"*Reporter*\n<@{incident.reporter_id}>"),
        MarkdownTextObject(text=f"*Started*\n{format_time(incident.started_at, tz)}"),
    ]
    ticket = _ticket_field(tickets)
    if ticket:
        fields.append(MarkdownTextObject(text=ticket))
    if incident.acknowledged_at is not None:
        who = f"<@{incident.acknowledged_by}> " if incident.acknowledged_by else ""
        fields.append(
            MarkdownTextObject(
                text=f"*Acknowledged*\n{who}{format_time(incident.acknowledged_at, tz)}"
            )
        )
    if incident.resolved_at is not None:
        fields += [
            MarkdownTextObject(text=f"*Resolved*\n{format_time(incident.resolved_at, tz)}"),
            MarkdownTextObject(text=f"*Duration*\n{duration_text(incident)}"),
            MarkdownTextObject(text=f"*Post-incident review*\n{review_text(incident, policy, tz)}"),
        ]
    blocks: list[Block] = [
        HeaderBlock(text=clip(f"{incident.public_id}: {incident.title}", HEADER_MAX)),
        SectionBlock(fields=fields),
    ]
    if incident.description:
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=clip(escape(incident.description), 3000)))
        )
    actions = "\n".join(f"{n}. {action}" for n, action in enumerate(sev.actions, start=1))
    blocks += [
        DividerBlock(),
        SectionBlock(
            text=MarkdownTextObject(
                text=clip(f"*Required actions for {incident.severity}*\n{actions}", 3000)
            )
        ),
    ]
    # The chain pages only until someone acknowledges: past that, the Acknowledged field says
    # who stopped it, and a path that no longer applies would only mislead.
    if incident.is_open and incident.acknowledged_at is None:
        paging = when_paged(policy, incident.severity, incident.started_at)
        path = escalation_path(policy, incident.severity, paging, tz)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(path, 3000))))
    blocks += _action_item_blocks(action_items, tickets)
    buttons = summary_buttons(incident)
    if buttons:
        blocks.append(ActionsBlock(block_id="incident_actions", elements=buttons))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"{'Private' if incident.private else 'Public'} incident · "
                    "`/incident help` lists what you can do here"
                )
            ]
        )
    )
    text = (
        f"{incident.public_id} {incident.severity} {sev.name}: {escape(incident.title)} "
        f"({status_label(incident.status)})"
    )
    return Message(text=text, blocks=blocks)


def escalation_path(
    policy: Policy, severity: str, paging: Paging | None = None, tz: ZoneInfo | None = None
) -> str:
    """The levels this severity may page, named (never mentioned: nobody is paged by reading);
    with `paging` (working hours applied to the declaration), when L1 is paged if not now, or
    that nobody is."""
    if paging is not None and paging.silent:
        return f"*Escalation for {severity}*: " + outside_hours_note(policy, severity, paging, tz)
    levels = chain(policy, severity)
    steps = []
    for index, level in enumerate(levels):
        last = index == len(levels) - 1
        wait = f" ({format_duration(level.window)})" if level.window and not last else ""
        steps.append(f"{level.key} {level.name}{wait}")
    text = (
        f"*Escalation for {severity}* until someone acknowledges (`/incident ack`):\n"
        + " → ".join(steps)
    )
    if paging is not None and paging.deferred:
        text += "\n" + outside_hours_note(policy, severity, paging, tz)
    return text


def paged_when(paging: Paging, tz: ZoneInfo | None = None) -> str:
    """`at 09:00 (next working hours)`, `on Mon 30 Nov at 09:00 (next working hours)`: the
    working hours' own clock, with the day when it is not the day asked, and the zone when
    it is not `tz` (None: the working hours' zone is the reader's)."""
    assert paging.at is not None and paging.hours is not None
    zone = paging.hours.tz
    local = paging.at.astimezone(zone)
    day = "" if local.date() == paging.asked.astimezone(zone).date() else f"on {local:%a %d %b} "
    named = "" if tz is None or str(tz) == paging.hours.time_zone else f" {paging.hours.time_zone}"
    return f"{day}at {local:%H:%M}{named} (next working hours)"


def outside_hours_note(
    policy: Policy, severity: str, paging: Paging, tz: ZoneInfo | None = None
) -> str:
    """What working hours made of the declaration: when L1 is paged, or that nobody is."""
    if paging.silent:
        return (
            f"declared outside working hours, {severity} pages nobody: the team picks the "
            "incident up in working hours (`/incident ack` when you do)."
        )
    first = chain(policy, severity)[0]
    return f"Declared outside working hours: {first.key} will be paged {paged_when(paging, tz)}."


def _ticket_field(tickets: Sequence[TicketRecord]) -> str:
    """The incident's own ticket: its link once the tracker made it, "opening" while the
    ticket step works on it; nothing without one, or when the tracker refused it (the
    refusal was told in the channel, with how to ask again)."""
    own = next((t for t in tickets if t.action_item_id is None), None)
    if own is None:
        return ""
    where = tracker_title(own.provider)
    if own.key:
        return f"*Ticket*\n{ticket_link(own)} ({where})"
    if own.error is None:
        return f"*Ticket*\nopening in {where}…"
    return ""


def _item_text(number: int, item: ActionItem, ticket: TicketRecord | None) -> str:
    """The item's line, then its ticket's link: the line is clipped, never the link."""
    link = f" · {ticket_link(ticket)}" if ticket is not None and ticket.key else ""
    return clip(f"{number}. {item_line(item)}", 3000 - len(link)) + link


def _action_item_blocks(
    items: Sequence[ActionItem], tickets: Sequence[TicketRecord] = ()
) -> list[Block]:
    if not items:
        return []
    by_item = {t.action_item_id: t for t in tickets if t.action_item_id is not None}
    open_items = [i for i in items if not i.done]
    done = len(items) - len(open_items)
    heading = f"*Action items*: {len(open_items)} open, {done} done"
    if not open_items:
        heading += " :white_check_mark:"
    blocks: list[Block] = [DividerBlock(), SectionBlock(text=MarkdownTextObject(text=heading))]
    numbers = {item.id: n for n, item in enumerate(items, start=1)}
    for item in open_items[:SUMMARY_ITEMS_SHOWN]:
        blocks.append(
            SectionBlock(
                block_id=f"action_item_{item.id}",
                text=MarkdownTextObject(
                    text=_item_text(numbers[item.id], item, by_item.get(item.id))
                ),
                accessory=done_button(item),
            )
        )
    hidden = len(open_items) - SUMMARY_ITEMS_SHOWN
    if hidden > 0:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"…and {hidden} more open; `/incident postmortem` lists them all"
                    )
                ]
            )
        )
    return blocks


def announcement(incident: Incident, policy: Policy, tz: ZoneInfo | None = None) -> Message:
    """The broadcast line, kept current; a private incident's title stays out of it. An
    incident without a channel (its severity's `channel: false`) is named by its id; one
    declared outside working hours says when L1 is paged, or that nobody is."""
    sev = policy.severity(incident.severity)
    kind = f"{incident.severity} {sev.name}"
    if incident.resolved_at is not None and not incident.is_open:
        after = duration_text(incident)
        if incident.private:
            text = f":lock: Private {kind} incident {incident.public_id} resolved after {after}."
        else:
            text = (
                f":white_check_mark: {kind} incident {incident.public_id} resolved after "
                f"{after}: {escape(incident.title)}."
            )
            if incident.channel_id:
                text += f" Details in <#{incident.channel_id}>."
        return Message(text=text, blocks=[section(text)])
    if incident.private:
        text = f":lock: Private {kind} incident {incident.public_id} declared."
    else:
        text = (
            f":rotating_light: {kind} incident {incident.public_id} "
            f"declared: {escape(incident.title)}."
        )
        text += f" Join <#{incident.channel_id}>." if incident.channel_id else ""
        if incident.status != "investigating":
            text += f" Now {status_label(incident.status)}."
    if not incident.channel_id:
        text += (
            f" No incident channel for {incident.severity}: "
            f"`/incident <command> {incident.public_id}` acts on it."
        )
    if incident.acknowledged_at is None:
        paging = when_paged(policy, incident.severity, incident.started_at)
        if paging.deferred or paging.silent:
            note = outside_hours_note(policy, incident.severity, paging, tz)
            text += " " + note[0].upper() + note[1:]
    return Message(text=text, blocks=[section(text)])


def setup_failed_text(incident: Incident, failures: dict[str, str]) -> str:
    steps = ", ".join(
        f"{step.replace('_', ' ')} ({escape(error)})" for step, error in failures.items()
    )
    where = f" in <#{incident.channel_id}>" if incident.channel_id else ""
    return (
        f":warning: {incident.public_id} is saved{where}, but part of its Slack setup failed: "
        f"{steps}. Run `/incident retry-setup {incident.public_id}` to finish it; "
        "steps already done are not repeated."
    )


def no_channel_text(incident: Incident, policy: Policy, tz: ZoneInfo | None = None) -> str:
    """The reporter's DM for an incident whose severity opens no channel (`channel: false`):
    its id, where it lives instead, and how commands reach it."""
    sev = policy.severity(incident.severity)
    text = (
        f":white_check_mark: {incident.public_id} is declared: {escape(incident.title)} "
        f"({incident.severity} {sev.name}). {incident.severity} opens no incident channel"
    )
    if policy.tickets.opens_for(incident.severity) and policy.tickets.provider:
        text += f": its ticket is being opened in {tracker_title(policy.tickets.provider)}"
    text += (
        f". Commands about it take its id: `/incident ack {incident.public_id}`, "
        f"`/incident ticket {incident.public_id}`."
    )
    paging = when_paged(policy, incident.severity, incident.started_at)
    if paging.deferred or paging.silent:
        note = outside_hours_note(policy, incident.severity, paging, tz)
        text += " " + note[0].upper() + note[1:]
    return text
