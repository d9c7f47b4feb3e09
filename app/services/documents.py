"""The incident log and post-mortem of a stored incident: read the store into an
IncidentRecord, name its people (`app.services.people`), render it (app.domain.documents),
export it, upload it to Slack and remember where people open the upload."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import UTC, date, datetime
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.context import BotContext
from app.domain.documents import (
    ActionItem as ActionItemDoc,
)
from app.domain.documents import (
    DeploymentItem,
    IncidentRecord,
    TicketLink,
    TimelineItem,
    mentioned,
    named,
    render_incident_log,
    render_postmortem,
)
from app.domain.text import readable
from app.domain.timeline import Kind
from app.services import people, tickets
from app.services.deployments import before_incident
from app.services.slack_errors import slack_error
from app.store import action_items
from app.store import incidents as store
from app.store import tickets as ticket_store
from app.store.models import ActionItem, Incident, TicketRecord, TimelineEntry
from app.ui.tickets import tracker_title

log = logging.getLogger(__name__)

Document = Literal["log", "postmortem"]
# Entries about the bot's own plumbing, not about the incident.
_NOT_IN_DOCUMENTS = {Kind.SETUP_FAILED}


def _mention(user_id: str | None) -> str | None:
    return f"<@{user_id}>" if user_id else None


def _ticket_links(records: list[TicketRecord], items: list[ActionItem]) -> tuple[TicketLink, ...]:
    """The tickets the tracker made (those still being opened have no key yet), an item's
    named by the item's number in the documents."""
    numbers = {item.id: n for n, item in enumerate(items, start=1)}
    links = []
    for record in records:
        number = numbers.get(record.action_item_id) if record.action_item_id else None
        if record.key and (record.action_item_id is None or number is not None):
            links.append(
                TicketLink(record.key, record.url or "", tracker_title(record.provider), number)
            )
    return tuple(links)


def _text(entry: TimelineEntry) -> str:
    """An entry's text as plain text: a captured message's Slack markup read (`readable`)."""
    return readable(entry.text) if entry.kind == Kind.MESSAGE else entry.text


async def incident_record(session: AsyncSession, incident: Incident) -> IncidentRecord:
    """Everything the documents show, read in one session: timeline in time order (deleted
    entries left out), action items in the order they were added, the resolve form's fields."""
    entries = (
        await session.execute(
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident.id, TimelineEntry.deleted.is_(False))
            .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
        )
    ).scalars()
    items = await action_items.for_incident(session, incident.id)
    tickets_made = await ticket_store.for_incident(session, incident.id)
    deployed = await before_incident(session, incident)
    return IncidentRecord(
        public_id=incident.public_id,
        title=incident.title,
        severity=incident.severity,
        status=incident.status,
        started_at=incident.started_at,
        resolved_at=incident.resolved_at,
        lead=_mention(incident.lead_id),
        affected_services=incident.affected_services,
        affected_users=incident.affected_users,
        revenue_impact=incident.revenue_impact,
        data_loss=incident.data_loss,
        root_cause=incident.root_cause,
        resolution=incident.resolution,
        postmortem_url=incident.postmortem_url or "",
        timeline=tuple(
            TimelineItem(entry.occurred_at, _text(entry), _mention(entry.actor_id))
            for entry in entries
            if entry.kind not in _NOT_IN_DOCUMENTS and entry.text
        ),
        action_items=tuple(
            ActionItemDoc(item.text, _mention(item.owner_id), item.due_on, item.done)
            for item in items
        ),
        tickets=_ticket_links(tickets_made, items),
        deployments=tuple(
            DeploymentItem(
                d.created_at, d.project, d.environment, d.ref, d.sha, d.state, d.url or ""
            )
            for d in deployed
        ),
    )


async def with_names(
    sessions: async_sessionmaker[AsyncSession],
    slack: AsyncWebClient | None,
    record: IncidentRecord,
    now: datetime,
) -> IncidentRecord:
    """The record naming its people: stored names, and Slack asked about the others when
    `slack` is given. Slack failing leaves ids, never the document unwritten."""
    return named(record, await people.names(sessions, slack, mentioned(record), now))


async def record_by_public_id(
    sessions: async_sessionmaker[AsyncSession],
    public_id: str,
    slack: AsyncWebClient | None = None,
) -> IncidentRecord | None:
    """The export's record, people named from the database (and Slack, when given)."""
    async with sessions() as session:
        incident = await store.by_public_id(session, public_id)
        if incident is None:
            return None
        record = await incident_record(session, incident)
    return await with_names(sessions, slack, record, datetime.now(UTC))


def render(record: IncidentRecord, document: Document, tz: ZoneInfo) -> str:
    if document == "postmortem":
        return render_postmortem(record, tz)
    return render_incident_log(record, tz)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def record_json(record: IncidentRecord) -> str:
    """The record as JSON: times in ISO 8601 UTC, days as YYYY-MM-DD."""
    return json.dumps(dataclasses.asdict(record), default=_jsonable, indent=2, ensure_ascii=False)


async def upload_postmortem(bot: BotContext, incident: Incident, *, comment: str) -> str | None:
    """Render the post-mortem from the store now (people named) and upload it to the incident
    channel; its id and permalink are saved, so the incident log links it."""
    if not incident.channel_id:
        return None
    async with bot.sessions() as session:
        current = await session.get(Incident, incident.id)
        assert current is not None
        record = await incident_record(session, current)
    record = await with_names(bot.sessions, bot.slack, record, bot.clock.now())
    text = render_postmortem(record, bot.settings.tz)
    response = await bot.slack.files_upload_v2(
        channel=incident.channel_id,
        content=text,
        filename=f"{incident.public_id}-post-mortem.md",
        title=f"Post-mortem draft: {incident.public_id} {incident.title}"[:250],
        initial_comment=comment,
    )
    files = response.get("files") or [response.get("file") or {}]
    file_id = files[0].get("id") if files else None
    if file_id:
        await save_upload(bot, incident, file_id)
    return file_id


async def save_upload(bot: BotContext, incident: Incident, file_id: str) -> None:
    """Remember the uploaded post-mortem: its id, and its permalink for the incident log.

    Also for a retried upload step that found an earlier try's file in the channel."""
    url = await _permalink(bot, incident, file_id)
    async with bot.sessions.begin() as session:
        await store.save_fields(
            session,
            incident.id,
            bot.clock.now(),
            postmortem_file_id=file_id,
            **({"postmortem_url": url} if url else {}),
        )
        if url:  # the resolved incident's ticket links it
            await tickets.plan_sync(session, incident, bot.clock.now())


async def remember_names(bot: BotContext, incident: Incident) -> None:
    """Ask Slack now for the names of the people an incident mentions that are not stored
    yet, so an export (which reads only the database) names them while it is still running.
    Never raises: a name not learnt now is learnt at the post-mortem's upload."""
    try:
        async with bot.sessions() as session:
            current = await session.get(Incident, incident.id)
            if current is None:
                return
            record = await incident_record(session, current)
        await people.names(bot.sessions, bot.slack, mentioned(record), bot.clock.now())
    except Exception:  # noqa: BLE001 - names are a nicety; the incident goes on
        log.warning("names of %s not remembered", incident.public_id, exc_info=True)


async def _permalink(bot: BotContext, incident: Incident, file_id: str) -> str | None:
    """Where people open the file (files.info, scope files:read). The upload is done by then:
    a refusal here is logged and the incident log keeps its `[URL]` prompt, not retried by
    uploading again."""
    try:
        info = await bot.slack.files_info(file=file_id)
    except Exception as exc:  # noqa: BLE001 - the upload stands whatever files.info says
        log.warning(
            "no permalink for the post-mortem of %s: %s", incident.public_id, slack_error(exc)
        )
        return None
    url = (info.get("file") or {}).get("permalink")
    if not isinstance(url, str) or urlsplit(url).scheme != "https" or len(url) > 500:
        return None
    return url
