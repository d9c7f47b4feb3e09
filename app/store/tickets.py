"""Queries on tickets: an incident's, one by marker or by the tracker's id, and the hold that
lets one step at a time talk to the tracker about a ticket."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import TicketRecord
from app.store.workers import held_by_dead_worker


async def for_incident(session: AsyncSession, incident_id: int) -> list[TicketRecord]:
    """The incident's tickets, its own first, then its action items' in the order made."""
    stmt = (
        select(TicketRecord)
        .where(TicketRecord.incident_id == incident_id)
        .order_by(TicketRecord.action_item_id.is_not(None), TicketRecord.id)
    )
    return list((await session.execute(stmt)).scalars())


async def by_marker(session: AsyncSession, marker: str) -> TicketRecord | None:
    stmt = select(TicketRecord).where(TicketRecord.marker == marker)
    return (await session.execute(stmt)).scalar_one_or_none()


async def by_remote(session: AsyncSession, provider: str, remote_id: str) -> TicketRecord | None:
    stmt = select(TicketRecord).where(
        TicketRecord.provider == provider,
        or_(TicketRecord.remote_id == remote_id, TicketRecord.key == remote_id),
    )
    return (await session.execute(stmt)).scalars().first()


async def open_item_tickets(session: AsyncSession, limit: int = 500) -> list[TicketRecord]:
    """Action items' tickets still open, for polling the tracker (oldest looked at first)."""
    stmt = (
        select(TicketRecord)
        .where(
            TicketRecord.action_item_id.is_not(None),
            TicketRecord.remote_id.is_not(None),
            TicketRecord.closed.is_(False),
        )
        .order_by(TicketRecord.updated_at)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def hold(
    session: AsyncSession,
    ticket_id: int,
    now: datetime,
    until: datetime,
    worker: str,
    dead_after: timedelta,
) -> bool:
    """Take the ticket for `worker` until `until`, unless another live one holds it now.

    A hold that lapsed, or whose worker is dead (three missed heartbeats, as for steps), is
    taken over, and the ticket marked uncertain: what the dead holder did in the tracker is
    looked up before anything is made again.
    """
    holder = TicketRecord.busy_by
    orphaned = or_(
        TicketRecord.busy_until < now,
        held_by_dead_worker(holder, now, dead_after, claimed_at=TicketRecord.busy_since),
    )
    taken = {"busy_until": until, "busy_by": worker, "busy_since": now}
    lapsed = await session.execute(
        update(TicketRecord)
        .where(TicketRecord.id == ticket_id, TicketRecord.busy_until.is_not(None), orphaned)
        .values(uncertain=True, **taken)
    )
    if lapsed.rowcount:  # type: ignore[attr-defined]
        return True
    free = await session.execute(
        update(TicketRecord)
        .where(TicketRecord.id == ticket_id, TicketRecord.busy_until.is_(None))
        .values(**taken)
    )
    return bool(free.rowcount)  # type: ignore[attr-defined]


async def save(session: AsyncSession, ticket_id: int, now: datetime, **values: Any) -> None:
    await session.execute(
        update(TicketRecord).where(TicketRecord.id == ticket_id).values(updated_at=now, **values)
    )
