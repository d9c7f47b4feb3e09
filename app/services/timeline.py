"""The one way anything is written to an incident's timeline, and the notes people add."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.timeline import Kind
from app.store import timeline as store
from app.store.models import Incident, TimelineEntry

if TYPE_CHECKING:
    from app.context import BotContext


def record(
    session: AsyncSession,
    incident: Incident,
    kind: str,
    *,
    now: datetime,
    text: str = "",
    actor_id: str | None = None,
    occurred_at: datetime | None = None,
    data: dict[str, Any] | None = None,
    source_ts: str | None = None,
) -> TimelineEntry:
    """Add an entry in the caller's transaction, so a change and its entry commit together.

    `occurred_at` defaults to `now`; give it when the event happened earlier (a captured message
    keeps its own Slack time). `source_ts` ties the entry to one Slack message of the incident's
    channel: the database keeps at most one entry per message.
    """
    entry = TimelineEntry(
        incident_id=incident.id,
        kind=kind,
        occurred_at=occurred_at or now,
        actor_id=actor_id,
        text=text,
        data=data or {},
        source_ts=source_ts,
        created_at=now,
    )
    session.add(entry)
    return entry


async def add_note(ctx: BotContext, incident_id: int, author_id: str, text: str) -> TimelineEntry:
    """Save a note by `author_id`, timed now."""
    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            raise LookupError(f"no incident with id {incident_id}")
        return record(session, incident, Kind.NOTE, now=now, actor_id=author_id, text=text)


async def link_message(ctx: BotContext, entry_id: int, ts: str) -> None:
    """Tie an entry to the channel message that shows it (a note's echo), so flagging that
    message with a timeline emoji finds the entry instead of capturing a copy."""
    try:
        async with ctx.sessions.begin() as session:
            await session.execute(
                update(TimelineEntry).where(TimelineEntry.id == entry_id).values(source_ts=ts)
            )
    except IntegrityError:
        pass  # someone flagged the echo within the same instant: it is captured already


async def entries(ctx: BotContext, incident_id: int) -> list[TimelineEntry]:
    async with ctx.sessions() as session:
        return await store.entries(session, incident_id)
