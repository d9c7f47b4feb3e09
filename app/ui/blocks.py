"""Block Kit for messages and views, built with slack_sdk.models so Slack's limits are checked
here, where the view is made, rather than discovered as an error from Slack mid-incident."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from app.config.policy import Policy
from app.domain.durations import format_duration, format_hours_minutes
from app.domain.escalation import chain
from app.runbooks import Runbook, Runbooks, Step
from app.store.models import ActionItem, Incident

DECLARE_CALLBACK = "declare_incident"
RUNBOOK_ACTION = "runbook_step"
RUNBOOK_BLOCK_PREFIX = "runbook:"
IMPACT_BLOCK_PREFIX = "impacts_"
HEADER_MAX = 150
TOPIC_MAX = 250


@dataclass(frozen=True)
class Message:
    """What chat.postMessage needs: blocks, and the text notifications and screen readers use."""

    text: str
    blocks: list[Block]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def severity_label(policy: Policy, key: str) -> str:
    """`P0 Critical (respond < 15 minutes)`."""
    sev = policy.severity(key)
    return f"{key} {sev.name} (respond < {format_duration(sev.response_target)})"


def status_label(status: str) -> str:
    return status.capitalize()


def format_time(when, tz: ZoneInfo) -> str:  # type: ignore[no-untyped-def]
    local = when.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


# ---------------------------------------------------------------------------- declare modal


def declare_modal(
    policy: Policy,
    *,
    title: str = "",
    origin_channel: str | None = None,
    suggested: str | None = None,
    incident_types: Sequence[tuple[str, str]] = (),
) -> View:
    """The modal `/incident declare` opens. `suggested` comes from the ticked impacts;
    `incident_types` are (type, title) pairs of the runbooks on offer."""
    blocks: list[Block] = [
        InputBlock(
            block_id="title",
            label="Title",
            element=PlainTextInputElement(
                action_id="value",
                initial_value=title[:3000] or None,
                placeholder="What is broken, in a few words",
            ),
        ),
        InputBlock(
            block_id="description",
            label="Description",
            optional=True,
            element=PlainTextInputElement(
                action_id="value",
                multiline=True,
                placeholder="What do you see? Who is affected?",
            ),
        ),
    ]
    for sev_key in policy.severity_keys:
        impacts = [i for i in policy.impacts if i.severity == sev_key]
        if not impacts:
            continue
        sev = policy.severity(sev_key)
        blocks.append(
            InputBlock(
                block_id=f"{IMPACT_BLOCK_PREFIX}{sev_key}",
                label=f"Impact: {sev.name.lower()} ({sev_key})",
                optional=True,
                dispatch_action=True,
                element=CheckboxesElement(
                    action_id="value",
                    options=[Option(value=i.key, text=i.label) for i in impacts],
                ),
            )
        )
    blocks.append(
        SectionBlock(
            block_id="suggestion",
            text=MarkdownTextObject(text=suggestion_text(policy, suggested)),
        )
    )
    blocks.append(
        InputBlock(
            block_id="severity",
            label="Severity",
            optional=True,
            hint="Leave empty to use the severity suggested from the impacts.",
            element=StaticSelectElement(
                action_id="value",
                placeholder="Suggested from the impacts",
                options=[
                    Option(value=key, text=_clip(severity_label(policy, key), 75))
                    for key in policy.severity_keys
                ],
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id="visibility",
            label="Visibility",
            optional=True,
            hint="Security or data-breach impacts make the incident private unless you pick "
            "Public.",
            element=StaticSelectElement(
                action_id="value",
                placeholder="Automatic",
                options=[
                    Option(value="public", text="Public channel"),
                    Option(value="private", text="Private channel"),
                ],
            ),
        )
    )
    if incident_types:
        blocks.append(
            InputBlock(
                block_id="incident_type",
                label="Incident type",
                optional=True,
                hint="Its runbook is posted in the incident channel as a checklist.",
                element=StaticSelectElement(
                    action_id="value",
                    placeholder="None",
                    options=[
                        Option(value=key, text=_clip(title, 75))
                        for key, title in incident_types[:100]
                    ],
                ),
            )
        )
    return View(
        type="modal",
        callback_id=DECLARE_CALLBACK,
        title="Declare an incident",
        submit="Declare",
        close="Cancel",
        private_metadata=json.dumps({"channel": origin_channel}) if origin_channel else None,
        blocks=blocks,
    )


def suggestion_text(policy: Policy, suggested: str | None) -> str:
    if suggested is None:
        return "Tick the impacts you see and a severity is suggested here."
    sev = policy.severity(suggested)
    return (
        f"Suggested severity: *{suggested} {sev.name}*, respond within "
        f"{format_duration(sev.response_target)}. Pick one below to override it."
    )


# ---------------------------------------------------------------------------- channel content


def channel_topic(incident: Incident, policy: Policy) -> str:
    sev = policy.severity(incident.severity)
    topic = (
        f"{incident.public_id} | {incident.severity} {sev.name} | "
        f"{status_label(incident.status)} | {incident.title}"
    )
    return _clip(topic, TOPIC_MAX)


# Action ids of the summary's buttons. The escalation engine adds its Acknowledge button

# The escalation engine's Acknowledge button: the same action on pages and on the summary.
ACKNOWLEDGE_ACTION = "escalation_ack"
CHANGE_SEVERITY_ACTION = "incident_change_severity"
CHANGE_STATUS_ACTION = "incident_change_status"
RESOLVE_ACTION = "incident_resolve"
REVIEW_HELD_ACTION = "incident_review_held"
ACTION_ITEM_DONE_ACTION = "action_item_done"
SUMMARY_ITEMS_SHOWN = 10


def duration_text(incident: Incident) -> str:
    """ "2 hours 5 minutes", the incident log's Duration, once resolved."""
    if incident.resolved_at is None:
        return ""
    return format_hours_minutes(incident.resolved_at - incident.started_at)


def item_line(item: ActionItem) -> str:
    owner = f" · <@{item.owner_id}>" if item.owner_id else " · no owner"
    due = f" · due {item.due_on.isoformat()}" if item.due_on else ""
    return f"{item.text}{owner}{due}"


def done_button(item: ActionItem) -> ButtonElement:
    return ButtonElement(text="Done", action_id=ACTION_ITEM_DONE_ACTION, value=str(item.id))


def review_held_button(incident: Incident) -> ButtonElement:
    return ButtonElement(
        text="Mark review held", action_id=REVIEW_HELD_ACTION, value=str(incident.id)
    )


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
) -> Message:
    """The pinned summary, kept current in place: what the plan says a responder needs first,
    then where the incident stands (status, lead, open action items) and its buttons."""
    sev = policy.severity(incident.severity)
    lead = f"<@{incident.lead_id}>" if incident.lead_id else "Unassigned: `/incident lead @someone`"
    fields = [
        MarkdownTextObject(text=f"*Severity*\n{severity_label(policy, incident.severity)}"),
        MarkdownTextObject(text=f"*Status*\n{status_label(incident.status)}"),
        MarkdownTextObject(text=f"*Lead*\n{lead}"),
        MarkdownTextObject(text=f"*Reporter*\n<@{incident.reporter_id}>"),
        MarkdownTextObject(text=f"*Started*\n{format_time(incident.started_at, tz)}"),
    ]
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
        HeaderBlock(text=_clip(f"{incident.public_id}: {incident.title}", HEADER_MAX)),
        SectionBlock(fields=fields),
    ]
    if incident.description:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_clip(incident.description, 3000))))
    actions = "\n".join(f"{n}. {action}" for n, action in enumerate(sev.actions, start=1))
    blocks += [
        DividerBlock(),
        SectionBlock(
            text=MarkdownTextObject(
                text=_clip(f"*Required actions for {incident.severity}*\n{actions}", 3000)
            )
        ),
        SectionBlock(
            text=MarkdownTextObject(text=_clip(escalation_path(policy, incident.severity), 3000))
        ),
    ]
    blocks += _action_item_blocks(action_items)
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
        f"{incident.public_id} {incident.severity} {sev.name}: {incident.title} "
        f"({status_label(incident.status)})"
    )
    return Message(text=text, blocks=blocks)


def escalation_path(policy: Policy, severity: str) -> str:
    """The levels this severity may page, named (never mentioned: nobody is paged by reading)."""
    levels = chain(policy, severity)
    steps = []
    for index, level in enumerate(levels):
        last = index == len(levels) - 1
        wait = f" ({format_duration(level.window)})" if level.window and not last else ""
        steps.append(f"{level.key} {level.name}{wait}")
    return (
        f"*Escalation for {severity}* until someone acknowledges (`/incident ack`):\n"
        + " → ".join(steps)
    )


def _action_item_blocks(items: Sequence[ActionItem]) -> list[Block]:
    if not items:
        return []
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
                text=MarkdownTextObject(text=_clip(f"{numbers[item.id]}. {item_line(item)}", 3000)),
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


def announcement(incident: Incident, policy: Policy) -> Message:
    """The broadcast line, kept current; a private incident's title stays out of it."""
    sev = policy.severity(incident.severity)
    kind = f"{incident.severity} {sev.name}"
    if incident.resolved_at is not None and not incident.is_open:
        after = duration_text(incident)
        if incident.private:
            text = f":lock: Private {kind} incident {incident.public_id} resolved after {after}."
        else:
            text = (
                f":white_check_mark: {kind} incident {incident.public_id} resolved after "
                f"{after}: {incident.title}. Details in <#{incident.channel_id}>."
            )
    elif incident.private:
        text = f":lock: Private {kind} incident {incident.public_id} declared."
    else:
        text = (
            f":rotating_light: {kind} incident {incident.public_id} "
            f"declared: {incident.title}. Join <#{incident.channel_id}>."
        )
        if incident.status != "investigating":
            text += f" Now {status_label(incident.status)}."
    return Message(
        text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=_clip(text, 3000)))]
    )


def setup_failed_text(incident: Incident, failures: dict[str, str]) -> str:
    steps = ", ".join(f"{step.replace('_', ' ')} ({error})" for step, error in failures.items())
    where = f" in <#{incident.channel_id}>" if incident.channel_id else ""
    return (
        f":warning: {incident.public_id} is saved{where}, but part of its Slack setup failed: "
        f"{steps}. Run `/incident retry-setup {incident.public_id}` to finish it; "
        "steps already done are not repeated."
    )


# ---------------------------------------------------------------------------- runbooks


def _escape(text: str) -> str:
    """Slack mrkdwn reserves &, < and >; commands are full of them (2>/dev/null)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _step_text(step: Step) -> str:
    text = _escape(step.step)
    if step.run:
        text += f"\n```{_escape(step.run)}```"
    return text


def runbook_checklist(runbook: Runbook, done: dict[int, str] | None = None) -> Message:
    """The runbook as a checklist message: one tickable section per step.

    `done` maps a step's index (in `runbook.steps`) to who ticked it.
    """
    done = done or {}
    items: list[Block] = [HeaderBlock(text=_clip(f"Runbook: {runbook.title}", HEADER_MAX))]
    if runbook.symptoms:
        symptoms = "\n".join(f"• {_escape(s)}" for s in runbook.symptoms)
        items.append(
            SectionBlock(text=MarkdownTextObject(text=_clip(f"*Symptoms*\n{symptoms}", 3000)))
        )
    index = 0
    for heading, steps in (
        ("Investigation", runbook.investigation),
        ("Resolution", runbook.resolution),
    ):
        if not steps:
            continue
        items.append(SectionBlock(text=MarkdownTextObject(text=f"*{heading}*")))
        for step in steps:
            option = Option(value="done", text="Done")
            text = _step_text(step)
            if index in done:
                text += f"\n:white_check_mark: done by <@{done[index]}>"
            items.append(
                SectionBlock(
                    block_id=f"{RUNBOOK_BLOCK_PREFIX}{runbook.key}:{index}",
                    text=MarkdownTextObject(text=_clip(text, 3000)),
                    accessory=CheckboxesElement(
                        action_id=RUNBOOK_ACTION,
                        options=[option],
                        initial_options=[option] if index in done else None,
                    ),
                )
            )
            index += 1
    items.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"{len(done)} of {index} steps done · ticks are recorded in the "
                    "incident timeline"
                )
            ]
        )
    )
    return Message(text=f"Runbook: {runbook.title} ({len(done)}/{index} steps done)", blocks=items)


def parse_runbook_block_id(block_id: str) -> tuple[str, int] | None:
    """`runbook:<type>:<index>` -> (type, index); None for anything else."""
    if not block_id.startswith(RUNBOOK_BLOCK_PREFIX):
        return None
    key, _, index = block_id[len(RUNBOOK_BLOCK_PREFIX) :].rpartition(":")
    return (key, int(index)) if key and index.isdigit() else None


def runbook_text(runbook: Runbook) -> str:
    """The runbook as plain mrkdwn, for an ephemeral answer outside incident channels."""
    lines = [f"*Runbook: {_escape(runbook.title)}*"]
    if runbook.symptoms:
        lines.append("*Symptoms:* " + "; ".join(_escape(s) for s in runbook.symptoms))
    for heading, steps in (
        ("Investigation", runbook.investigation),
        ("Resolution", runbook.resolution),
    ):
        if steps:
            lines.append(f"*{heading}*")
            lines += [f"• {_step_text(step)}" for step in steps]
    return "\n".join(lines)


def runbook_list(runbooks: Runbooks) -> str:
    lines = ["*Runbooks* (`/incident runbook <type>` posts one as a checklist here)"]
    lines += [f"• `{runbook.key}`: {_escape(runbook.title)}" for runbook in runbooks]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- help


def help_text(commands: Iterable[tuple[str, str]]) -> str:
    lines = ["*`/incident` commands*"]
    lines += [f"• `/incident {usage}`: {summary}" for usage, summary in commands]
    return "\n".join(lines)


def plain(text: str) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=_clip(text, 3000)))]


def to_dicts(items: Sequence[Block]) -> list[dict]:
    return [b.to_dict() for b in items]
