"""What the dashboard's pages show, as plain values (app.dashboard renders them; it never sees
a row of the store): the open incidents with their clocks, one incident with its timeline and
documents, and the report of a period.

Every incident passes `app.services.visibility.can_see` for the viewer before anything of it
is read for a page: a private incident is left out of the board (and so of its count), and its
page is "not found" for a non-member, exactly like an incident that does not exist. The clocks
are computed here from the bot's injected clock and each incident's own policy snapshot.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from app.context import BotContext
from app.domain import report_facts
from app.domain.durations import format_duration, format_elapsed
from app.domain.naming import parse_incident_id
from app.domain.periods import Period, parse_period
from app.domain.policy import Policy
from app.domain.report import Report
from app.domain.text import readable
from app.domain.timeline import Kind
from app.services import documents, people, reports, visibility
from app.services.incidents import policy_of
from app.store import incidents as store
from app.store import tickets as ticket_store
from app.store import timeline as timeline_store
from app.store.models import Incident, TimelineEntry
from app.ui.tickets import tracker_title

__all__ = [
    "Board",
    "Clock",
    "Entry",
    "IncidentPage",
    "Link",
    "OpenIncident",
    "board",
    "incident_page",
    "report",
    "response_clock",
    "update_clock",
]

log = logging.getLogger(__name__)
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")


@dataclass(frozen=True)
class Clock:
    """One of an incident's clocks, worded: `state` is ok, due (running), missed, or none."""

    text: str
    state: str


@dataclass(frozen=True)
class OpenIncident:
    public_id: str
    title: str
    severity: str
    severity_name: str
    rank: int  # 0 for the most severe
    status: str
    lead: str | None
    private: bool
    started_at: datetime
    open_for: str
    response: Clock
    update: Clock


@dataclass(frozen=True)
class Board:
    now: datetime
    incidents: tuple[OpenIncident, ...]


@dataclass(frozen=True)
class Link:
    label: str
    url: str | None


@dataclass(frozen=True)
class Entry:
    when: datetime
    kind: str
    actor: str | None
    text: str


@dataclass(frozen=True)
class IncidentPage:
    public_id: str
    title: str
    description: str
    severity: str
    severity_name: str
    rank: int
    status: str
    private: bool
    is_open: bool
    incident_type: str | None
    impacts: tuple[str, ...]
    started_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    lead: str | None
    reporter: str | None
    duration: str
    response: Clock
    update: Clock
    channel: Link | None
    tickets: tuple[Link, ...]
    timeline: tuple[Entry, ...]
    incident_log: str
    postmortem: str


def response_clock(
    started_at: datetime, acknowledged_at: datetime | None, target: timedelta, now: datetime
) -> Clock:
    """The response target: met or missed once acknowledged, else the time left or missed."""
    if acknowledged_at is not None:
        waited = acknowledged_at - started_at
        if waited > target:
            return Clock(f"acknowledged after {format_elapsed(waited)}: target missed", "missed")
        return Clock(f"acknowledged after {format_elapsed(waited)}", "ok")
    deadline = started_at + target
    if now < deadline:
        return Clock(f"{format_elapsed(deadline - now)} left of {format_duration(target)}", "due")
    return Clock(f"target missed {format_elapsed(now - deadline)} ago", "missed")


def update_clock(
    started_at: datetime, last_update: datetime | None, every: timedelta | None, now: datetime
) -> Clock:
    """Since the last status update (or the declaration) against the severity's cadence."""
    said = (
        f"last update {format_elapsed(now - last_update)} ago"
        if last_update is not None
        else "no update yet"
    )
    if every is None:
        return Clock(f"{said} (no update cadence)", "none")
    due = (last_update or started_at) + every
    if now >= due:
        return Clock(f"{said}: overdue by {format_elapsed(now - due)}", "missed")
    return Clock(f"{said}; next due in {format_elapsed(due - now)}", "ok")


def _rank(policy: Policy, severity: str) -> int:
    try:
        return policy.rank(severity)
    except KeyError:
        return len(policy.severity_keys)


def _severity_name(policy: Policy, severity: str) -> str:
    try:
        return policy.severity(severity).name
    except KeyError:
        return ""


def _clocks(
    policy: Policy, incident: Incident, last: datetime | None, now: datetime
) -> tuple[Clock, Clock]:
    """The response and update clocks of an open incident; a resolved one's are done."""
    try:
        severity = policy.severity(incident.severity)
    except KeyError:
        return Clock("—", "none"), Clock("—", "none")
    started, acknowledged = incident.started_at, incident.acknowledged_at
    if not incident.is_open:
        response = (
            response_clock(started, acknowledged, severity.response_target, now)
            if acknowledged is not None
            else Clock("never acknowledged", "none")
        )
        return response, Clock("resolved: no more updates due", "none")
    return (
        response_clock(started, acknowledged, severity.response_target, now),
        update_clock(started, last, severity.update_every, now),
    )


async def report(ctx: BotContext, period: str | None) -> tuple[Period, Report]:
    """The report of `period` ("2026Q3", "this", "last"; default: the last full quarter). A
    ValueError says what is wrong with a period that is not one."""
    chosen = parse_period((period or "").strip() or "last", ctx.clock.now(), ctx.settings.tz)
    return chosen, await reports.build_period_report(ctx, chosen)


# What restarts the bot's update reminder (events.StatusUpdated): an `/incident update` and a
# status change. A status page publication is for customers, not a stakeholder update.
_UPDATE_KINDS = (Kind.UPDATE, Kind.STATUS_CHANGED)


def _restarts_cadence(kind: str, data: dict[str, object]) -> bool:
    return kind == Kind.STATUS_CHANGED or report_facts.is_update(
        report_facts.Entry(kind, datetime.min, dict(data))
    )


async def _last_updates(ctx: BotContext, incident_ids: list[int]) -> dict[int, datetime]:
    """When each incident last told its stakeholders (an update, or a status change)."""
    if not incident_ids:
        return {}
    stmt = select(
        TimelineEntry.incident_id, TimelineEntry.kind, TimelineEntry.occurred_at, TimelineEntry.data
    ).where(
        TimelineEntry.incident_id.in_(incident_ids),
        TimelineEntry.kind.in_(_UPDATE_KINDS),
        TimelineEntry.deleted.is_(False),
    )
    last: dict[int, datetime] = {}
    async with ctx.sessions() as session:
        for incident_id, kind, at, data in await session.execute(stmt):
            if _restarts_cadence(kind, data or {}) and (
                incident_id not in last or at > last[incident_id]
            ):
                last[incident_id] = at
    return last


async def _names(ctx: BotContext, user_ids: Iterable[str | None]) -> dict[str, str]:
    wanted = [user_id for user_id in user_ids if user_id]
    return await people.names(ctx.sessions, ctx.slack, wanted, ctx.clock.now())


async def board(ctx: BotContext, user_id: str | None) -> Board:
    """The open incidents `user_id` may see, most severe first (the oldest first among equals),
    with their clocks."""
    now = ctx.clock.now()
    async with ctx.sessions() as session:
        incidents = await store.open_incidents(session)
    policies = {incident.id: policy_of(ctx, incident) for incident in incidents}
    ordered = sorted(
        incidents,
        key=lambda i: (_rank(policies[i.id], i.severity), i.started_at, i.id),
    )
    shown = await visibility.visible(ctx, user_id, ordered)
    last = await _last_updates(ctx, [incident.id for incident in shown])
    names = await _names(ctx, (incident.lead_id for incident in shown))
    rows = []
    for incident in shown:
        policy = policies[incident.id]
        response, update = _clocks(policy, incident, last.get(incident.id), now)
        rows.append(
            OpenIncident(
                public_id=incident.public_id,
                title=incident.title,
                severity=incident.severity,
                severity_name=_severity_name(policy, incident.severity),
                rank=_rank(policy, incident.severity),
                status=incident.status,
                lead=_name(names, incident.lead_id),
                private=incident.private,
                started_at=incident.started_at,
                open_for=format_elapsed(now - incident.started_at),
                response=response,
                update=update,
            )
        )
    return Board(now, tuple(rows))


def _name(names: dict[str, str], user_id: str | None) -> str | None:
    if not user_id:
        return None
    return names.get(user_id) or user_id


def _entry_text(entry: TimelineEntry, names: dict[str, str]) -> str:
    """An entry as a person reads it: Slack's markup of a captured message read, people named."""
    text = readable(entry.text) if entry.kind == Kind.MESSAGE else entry.text
    return _MENTION.sub(lambda m: names.get(m.group(1)) or "@" + m.group(1), text)


async def _channel_link(ctx: BotContext, incident: Incident) -> Link | None:
    if not incident.channel_id:
        return None
    label = f"#{incident.channel_name}" if incident.channel_name else incident.channel_id
    try:
        workspace = await ctx.workspace_url()
    except Exception:  # noqa: BLE001 - the page still shows, with the channel's name only
        log.warning("could not learn the workspace's URL for a channel link", exc_info=True)
        return Link(label, None)
    return Link(label, f"{workspace.rstrip('/')}/archives/{incident.channel_id}")


async def incident_page(
    ctx: BotContext, user_id: str | None, public_id: str
) -> IncidentPage | None:
    """The incident `public_id` names, if `user_id` may see it; None otherwise (not found and
    not visible read the same, so a private incident's existence does not show)."""
    if parse_incident_id(public_id) is None:
        return None
    async with ctx.sessions() as session:
        incident = await store.by_public_id(session, public_id)
        if incident is None or not await visibility.can_see(ctx, user_id, incident):
            return None
        entries = [e for e in await timeline_store.entries(session, incident.id) if not e.deleted]
        tickets = await ticket_store.for_incident(session, incident.id)
        record = await documents.incident_record(session, incident)
        told = [e.occurred_at for e in entries if _restarts_cadence(e.kind, e.data or {})]
        last = max(told, default=None)
    now = ctx.clock.now()
    record = await documents.with_names(ctx.sessions, ctx.slack, record, now)
    mentioned = {m.group(1) for e in entries for m in _MENTION.finditer(e.text)}
    names = await _names(
        ctx,
        [
            incident.lead_id,
            incident.reporter_id,
            incident.acknowledged_by,
            *(e.actor_id for e in entries),
            *mentioned,
        ],
    )
    policy = policy_of(ctx, incident)
    response, update = _clocks(policy, incident, last, now)
    impact_labels = {impact.key: impact.label for impact in policy.impacts}
    tz = ctx.settings.tz
    return IncidentPage(
        public_id=incident.public_id,
        title=incident.title,
        description=incident.description,
        severity=incident.severity,
        severity_name=_severity_name(policy, incident.severity),
        rank=_rank(policy, incident.severity),
        status=incident.status,
        private=incident.private,
        is_open=incident.is_open,
        incident_type=incident.incident_type,
        impacts=tuple(impact_labels.get(key, key) for key in incident.impacts or ()),
        started_at=incident.started_at,
        acknowledged_at=incident.acknowledged_at,
        acknowledged_by=_name(names, incident.acknowledged_by),
        resolved_at=incident.resolved_at,
        lead=_name(names, incident.lead_id),
        reporter=_name(names, incident.reporter_id),
        duration=format_elapsed((incident.resolved_at or now) - incident.started_at),
        response=response,
        update=update,
        channel=await _channel_link(ctx, incident),
        tickets=tuple(
            Link(
                f"{t.key} ({tracker_title(t.provider)})"
                + (" · action item" if t.action_item_id else ""),
                t.url,
            )
            for t in tickets
            if t.key
        ),
        timeline=tuple(
            Entry(e.occurred_at, e.kind, _name(names, e.actor_id), _entry_text(e, names))
            for e in entries
        ),
        incident_log=documents.render(record, "log", tz),
        postmortem=documents.render(record, "postmortem", tz),
    )
