"""Queries on timeline entries and on the processed-event log that makes handling idempotent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.db import changed_rows, insert_for
from app.store.models import ProcessedEvent, TimelineEntry


async def claim_event(session: AsyncSession, event_id: str, now: datetime) -> bool:
    """Record that `event_id` is being handled; False if it already was.

    An insert that ignores conflicts, so it is atomic on both databases and across processes: of
    two deliveries of one event, exactly one gets True. Done in the transaction that applies the
    event's effect, so the effect and the mark commit (or roll back) together. On SQLite this is
    the transaction's first statement, which makes it a writer from the start.
    """
    stmt = insert_for(session)(ProcessedEvent).values(event_id=event_id, received_at=now)
    return (
        await changed_rows(session, stmt.on_conflict_do_nothing(index_elements=["event_id"])) == 1
    )


async def claim_events(session: AsyncSession, event_ids: list[str], now: datetime) -> set[str]:
    """`claim_event` for many events in one statement; returns the ids claimed now."""
    if not event_ids:
        return set()
    stmt = (
        insert_for(session)(ProcessedEvent)
        .values([{"event_id": event_id, "received_at": now} for event_id in event_ids])
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(ProcessedEvent.event_id)
    )
    return set((await session.execute(stmt)).scalars())


async def event_seen(session: AsyncSession, event_id: str) -> bool:
    found = await session.execute(
        select(ProcessedEvent.event_id).where(ProcessedEvent.event_id == event_id)
    )
    return found.first() is not None


async def prune_events(session: AsyncSession, before: datetime) -> int:
    """Forget event ids received before `before`; returns how many were deleted."""
    return await changed_rows(
        session, delete(ProcessedEvent).where(ProcessedEvent.received_at < before)
    )


async def entry_for_message(
    session: AsyncSession, incident_id: int, source_ts: str, *, for_update: bool = False
) -> TimelineEntry | None:
    """The entry that captured the Slack message `source_ts`, if any (at most one exists)."""
    stmt = select(TimelineEntry).where(
        TimelineEntry.incident_id == incident_id, TimelineEntry.source_ts == source_ts
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def entries(session: AsyncSession, incident_id: int) -> list[TimelineEntry]:
    """An incident's whole timeline in time order (ties in the order they were written)."""
    stmt = (
        select(TimelineEntry)
        .where(TimelineEntry.incident_id == incident_id)
        .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
    )
    return list((await session.execute(stmt)).scalars())


async def count(session: AsyncSession, incident_id: int) -> int:
    stmt = select(func.count()).where(TimelineEntry.incident_id == incident_id)
    return int((await session.execute(stmt)).scalar_one())
