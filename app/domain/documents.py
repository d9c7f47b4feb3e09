"""The plan's Incident Log and Post-Mortem templates, rendered as Markdown from plain data.

Sections with nothing to say yet keep the template's prompt, so the document shows what is left
to write instead of silently dropping it. The record is read from the store with people as
`<@U…>`, then `named` puts their names in (a document is read outside Slack, where a mention
is only an id). Everything shown, names included, goes through `markdown_text` here, so it
cannot start a heading, a list or a quote, link anywhere or carry HTML.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from app.domain.durations import format_elapsed
from app.domain.text import markdown_text, visible


@dataclass(frozen=True)
class TimelineItem:
    when: datetime
    text: str
    actor: str | None = None


@dataclass(frozen=True)
class ActionItem:
    text: str
    owner: str | None = None
    due: date | None = None
    done: bool = False


@dataclass(frozen=True)
class TicketLink:
    """A ticket the tracker made: the incident's own (`item` None) or an action item's
    (`item`: its number in `action_items`, from 1, as the documents list them)."""

    key: str
    url: str
    tracker: str  # "Jira", "GitHub", "Linear"
    item: int | None = None


@dataclass(frozen=True)
class DeploymentItem:
    """A deployment started in the 2 hours before the incident (Vercel's or GitHub's)."""

    when: datetime
    project: str
    environment: str = ""
    ref: str = ""
    sha: str = ""
    state: str = ""
    url: str = ""


@dataclass(frozen=True)
class IncidentRecord:
    """Everything the documents show, already read from the store."""

    public_id: str
    title: str
    severity: str
    status: str
    started_at: datetime
    resolved_at: datetime | None = None
    lead: str | None = None
    affected_services: str = ""
    affected_users: str = ""
    revenue_impact: str = ""
    data_loss: bool | None = None
    root_cause: str = ""
    resolution: str = ""
    summary: str = ""
    postmortem_url: str = ""
    attendees: tuple[str, ...] = ()
    timeline: tuple[TimelineItem, ...] = ()
    action_items: tuple[ActionItem, ...] = field(default_factory=tuple)
    tickets: tuple[TicketLink, ...] = ()
    deployments: tuple[DeploymentItem, ...] = ()
    # Who the record names, by Slack id (filled by `named`): the export keeps the ids.
    people: Mapping[str, str] = field(default_factory=dict)


# A person in the record: `<@U1>` as the bot writes one, `<@U1|ana>` as Slack sends one.
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")


def _texts(record: IncidentRecord) -> list[str]:
    # Every plain-text field (`f.type` is the annotation as written: this module postpones them).
    texts = [getattr(record, f.name) for f in dataclasses.fields(record) if f.type == "str"]
    texts += [record.lead or "", *record.attendees]
    texts += [part or "" for item in record.timeline for part in (item.text, item.actor)]
    texts += [part or "" for item in record.action_items for part in (item.text, item.owner)]
    return texts


def mentioned(record: IncidentRecord) -> set[str]:
    """The user ids of everyone the record mentions."""
    return {m.group(1) for text in _texts(record) for m in _MENTION.finditer(text)}


def named(record: IncidentRecord, names: Mapping[str, str]) -> IncidentRecord:
    """The record with each person's name where it mentioned them, `@U1` (the id) for anyone
    not in `names`; `people` lists who was named, by id."""

    def name(text: str) -> str:
        return _MENTION.sub(lambda m: names.get(m.group(1)) or f"@{m.group(1)}", text)

    def maybe(text: str | None) -> str | None:
        return None if text is None else name(text)

    strings: dict[str, Any] = {
        f.name: name(getattr(record, f.name)) for f in dataclasses.fields(record) if f.type == "str"
    }
    return dataclasses.replace(
        record,
        **strings,
        lead=maybe(record.lead),
        attendees=tuple(name(a) for a in record.attendees),
        timeline=tuple(
            TimelineItem(item.when, name(item.text), maybe(item.actor)) for item in record.timeline
        ),
        action_items=tuple(
            dataclasses.replace(item, text=name(item.text), owner=maybe(item.owner))
            for item in record.action_items
        ),
        people={user_id: names.get(user_id, user_id) for user_id in sorted(mentioned(record))},
    )


def _stamp(when: datetime | None, tz: ZoneInfo) -> str:
    if when is None:
        return "YYYY-MM-DD HH:MM"
    local = when.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def _duration(record: IncidentRecord) -> str:
    if record.resolved_at is None:
        return "X hours Y minutes (ongoing)"
    return format_elapsed(record.resolved_at - record.started_at)


def _yes_no(value: bool | None) -> str:
    return "Yes/No" if value is None else ("Yes" if value else "No")


def _or_prompt(value: str, prompt: str) -> str:
    return markdown_text(value) or prompt


def _md(value: str) -> str:
    return markdown_text(value)


def _timeline_lines(record: IncidentRecord, tz: ZoneInfo) -> list[str]:
    if not record.timeline:
        return ["- HH:MM - Alert received", "- HH:MM - Investigation started"]
    items = sorted(record.timeline, key=lambda item: item.when)
    days = {item.when.astimezone(tz).date() for item in items}
    fmt = "%H:%M" if len(days) == 1 else "%Y-%m-%d %H:%M"
    lines = []
    for item in items:
        who = f" ({_md(item.actor)})" if item.actor else ""
        lines.append(f"- {item.when.astimezone(tz).strftime(fmt)} - {_md(item.text)}{who}")
    return lines


# What may not appear in a Markdown link's destination as it is: it would end the link early
# or let it be read as something else. Parentheses are percent-encoded instead.
_URL_REFUSED = re.compile(r"[\s<>\\\"'`]")


def _safe_url(url: str) -> str | None:
    """`url` as a Markdown link destination, or None unless it is a plain http(s) URL."""
    url = url.strip()
    if not url or visible(url) != url or _URL_REFUSED.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return None
    return url.replace("(", "%28").replace(")", "%29")


def ticket_link(ticket: TicketLink) -> str:
    """`[OPS-12](https://…)`: the key escaped as link text (a key is the tracker's, but it
    cannot close the link or add markup either), the URL only when it is plain http(s); else
    the key alone."""
    key = " ".join(ticket.key.split()).replace("\\", "\\\\")
    text = markdown_text(key).replace("*", "\\*").replace("_", "\\_") or "ticket"
    url = _safe_url(ticket.url)
    return f"[{text}]({url})" if url else text


def _ticket_lines(record: IncidentRecord) -> list[str]:
    """The header's line for the incident's own ticket (none without one)."""
    own = [t for t in record.tickets if t.item is None]
    return [f"**Ticket**: {ticket_link(t)} ({_md(t.tracker)})" for t in own]


def _action_lines(record: IncidentRecord) -> list[str]:
    if not record.action_items:
        return ["- [ ] Item 1 - Owner - Due date"]
    by_item = {t.item: t for t in record.tickets if t.item is not None}
    lines = []
    for number, item in enumerate(record.action_items, start=1):
        box = "x" if item.done else " "
        owner = _md(item.owner or "") or "Owner"
        due = item.due.isoformat() if item.due else "Due date"
        ticket = f" - {ticket_link(by_item[number])}" if number in by_item else ""
        lines.append(f"- [{box}] {_md(item.text)} - {owner} - {due}{ticket}")
    return lines


def _link_text(text: str) -> str:
    return markdown_text(" ".join(text.split())).replace("*", "\\*").replace("_", "\\_")


def _deployment_lines(record: IncidentRecord, tz: ZoneInfo) -> list[str]:
    """The "Recent deployments" section: only when there were some (a change shortly before
    an incident is the first suspect; no section rather than an empty one otherwise)."""
    if not record.deployments:
        return []
    lines = ["## Recent deployments"]
    for item in sorted(record.deployments, key=lambda d: d.when):
        name = _link_text(item.project) or "deployment"
        url = _safe_url(item.url)
        shown = f"[{name}]({url})" if url else name
        details = [_md(part) for part in (item.environment, item.ref, item.sha[:7]) if part]
        state = f" - {_md(item.state)}" if item.state else ""
        extra = f" ({', '.join(details)})" if details else ""
        lines.append(f"- {_stamp(item.when, tz)} - {shown}{extra}{state}")
    return [*lines, ""]


def render_incident_log(record: IncidentRecord, tz: ZoneInfo) -> str:
    """The plan's "Incident Log Template", filled in."""
    lines = [
        f"# Incident: {_md(record.title)}",
        "",
        f"**Incident ID**: {record.public_id}",
        f"**Severity**: {record.severity}",
        f"**Status**: {record.status.capitalize()}",
        f"**Started**: {_stamp(record.started_at, tz)}",
        f"**Resolved**: {_stamp(record.resolved_at, tz)}",
        f"**Duration**: {_duration(record)}",
        *_ticket_lines(record),
        "",
        "## Impact",
        f"- Affected services: {_md(record.affected_services)}".rstrip(),
        f"- Affected users: {_md(record.affected_users)}".rstrip(),
        f"- Revenue impact: {_md(record.revenue_impact)}".rstrip(),
        f"- Data loss: {_yes_no(record.data_loss)}",
        "",
        "## Timeline",
        *_timeline_lines(record, tz),
        "",
        "## Root Cause",
        _or_prompt(record.root_cause, "[Detailed explanation of what caused the incident]"),
        "",
        "## Resolution",
        _or_prompt(record.resolution, "[What was done to resolve the incident]"),
        "",
        "## Action Items",
        *_action_lines(record),
        "",
        "## Post-Mortem",
        f"Link to post-mortem document: {record.postmortem_url or '[URL]'}",
        "",
    ]
    return "\n".join(lines)


def render_postmortem(record: IncidentRecord, tz: ZoneInfo) -> str:
    """The plan's "Post-Mortem Template", filled in with what the store knows."""
    day = record.started_at.astimezone(tz).date().isoformat()
    downtime = _duration(record)
    resolution = _md(record.resolution)
    # The generated summary takes the prompt's place: a summary someone wrote wins.
    summary = _md(record.summary) or (
        f'{record.severity} incident {record.public_id}, "{_md(record.title)}", started '
        f"{_stamp(record.started_at, tz)}"
        + (f" and was resolved after {downtime}." if record.resolved_at else " and is ongoing.")
        + (f" Resolution: {resolution}" if resolution else "")
    )
    lines = [
        f"# Post-Mortem: {_md(record.title)}",
        "",
        f"**Date**: {day}",
        f"**Severity**: {record.severity}",
        f"**Duration**: {downtime}",
        f"**Attendees**: {', '.join(_md(a) for a in record.attendees) or '[Names]'}",
        *_ticket_lines(record),
        "",
        "## Executive Summary",
        summary,
        "",
        "## Impact",
        f"- Users affected: {_md(record.affected_users) or 'X,XXX (X%)'}",
        f"- Downtime: {downtime}",
        f"- Revenue impact: {_md(record.revenue_impact) or '$X,XXX'}",
        f"- Data loss: {_yes_no(record.data_loss)}",
        "",
        "## Timeline",
        *_timeline_lines(record, tz),
        "",
        *_deployment_lines(record, tz),
        "## Root Cause",
        _or_prompt(record.root_cause, "[Detailed technical explanation]"),
        "",
        "## What Went Well",
        "- [What helped: detection, response time, communication, rollback]",
        "",
        "## What Went Wrong",
        "- [What hurt: testing, alerts, runbooks, escalation]",
        "",
        "## Action Items",
        *_action_lines(record),
        "",
        "### Prevent Recurrence",
        "- [ ] [Tests, error handling, safeguards]",
        "",
        "### Improve Detection",
        "- [ ] [Alerts, logging, dashboards]",
        "",
        "### Improve Response",
        "- [ ] [Runbooks, training, tooling]",
        "",
        "### Improve Communication",
        "- [ ] [Status page, customer communication, alert routing]",
        "",
        "## Lessons Learned",
        "1. [Lesson]",
        "",
    ]
    return "\n".join(lines)
