"""The queries on incidents that need care: sequence numbers, lookups, step results."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.lifecycle import Status
from app.store.db import changed_rows, insert_for
from app.store.models import DayCounter, Incident, ScheduledStep


async def next_sequence(session: AsyncSession, day: date) -> int:
    """Reserve the next incident number of `day`, atomically on both databases.

    An upsert on a per-day counter row serialises concurrent declares on the row itself, so two
    people declaring in the same second get different numbers without retry loops.
    """
    stmt = (
        insert_for(session)(DayCounter)
        .values(day=day, last_seq=1)
        .on_conflict_do_update(
            index_elements=[DayCounter.day], set_={"last_seq": DayCounter.last_seq + 1}
        )
        .returning(DayCounter.last_seq)
    )
    return int((await session.execute(stmt)).scalar_one())


async def by_public_id(session: AsyncSession, public_id: str) -> Incident | None:
    return (
        await session.execute(select(Incident).where(Incident.public_id == public_id.upper()))
    ).scalar_one_or_none()


async def by_channel(session: AsyncSession, channel_id: str) -> Incident | None:
    return (
        await session.execute(select(Incident).where(Incident.channel_id == channel_id))
    ).scalar_one_or_none()


async def by_request_key(session: AsyncSession, key: str) -> Incident | None:
    return (
        await session.execute(select(Incident).where(Incident.request_key == key))
    ).scalar_one_or_none()


async def latest_incomplete_for(session: AsyncSession, user_id: str) -> Incident | None:
    """The newest incident this user reported whose Slack setup did not finish."""
    stmt = (
        select(Incident)
        .where(Incident.reporter_id == user_id, Incident.setup_complete.is_(False))
        .order_by(Incident.created_at.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def save_fields(
    session: AsyncSession, incident_id: int, now: datetime, **fields: Any
) -> None:
    """Persist the result of one step at once, so a crash after it never repeats it."""
    await session.execute(
        update(Incident).where(Incident.id == incident_id).values(updated_at=now, **fields)
    )


async def setups_without_step(session: AsyncSession, kind: str) -> list[Incident]:
    """Incidents whose setup is unfinished with no step of `kind` to finish it and no refusal
    waiting for a person (declared by a version of the bot that set up in memory)."""
    has_step = (
        select(ScheduledStep.id)
        .where(ScheduledStep.incident_id == Incident.id, ScheduledStep.kind == kind)
        .exists()
    )
    stmt = (
        select(Incident)
        .where(Incident.setup_complete.is_(False), Incident.setup_error.is_(None), ~has_step)
        .order_by(Incident.created_at)
        .limit(50)
    )
    return list((await session.execute(stmt)).scalars())


async def lock(session: AsyncSession, incident_id: int, now: datetime) -> Incident | None:
    """Take the incident for a change: the row lock on PostgreSQL, the write lock on SQLite.

    The first statement is a write, so concurrent changes of one incident queue here instead of
    both reading the old state (and, on SQLite, failing to upgrade a read transaction). The row
    is then read fresh, so the caller validates against what is really stored.
    """
    locked = await changed_rows(
        session,
        update(Incident)
        .where(Incident.id == incident_id)
        .values(updated_at=now)
        .execution_options(synchronize_session=False),
    )
    if locked == 0:
        return None
    return await session.get(Incident, incident_id, populate_existing=True)


async def open_incidents(session: AsyncSession) -> list[Incident]:
    """Every incident not resolved, oldest first (callers sort by severity)."""
    stmt = (
        select(Incident)
        .where(Incident.status != Status.RESOLVED)
        .order_by(Incident.started_at, Incident.id)
    )
    return list((await session.execute(stmt)).scalars())


async def channel_ids(session: AsyncSession) -> dict[str, int]:
    """Every incident channel id, with its incident's id."""
    stmt = select(Incident.channel_id, Incident.id).where(Incident.channel_id.is_not(None))
    rows = (await session.execute(stmt)).all()
    return {channel: incident_id for channel, incident_id in rows if channel is not None}


async def id_for_channel(session: AsyncSession, channel_id: str) -> int | None:
    stmt = select(Incident.id).where(Incident.channel_id == channel_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def open_counts(session: AsyncSession) -> dict[str, int]:
    """Open (not resolved) incidents per severity."""
    stmt = (
        select(Incident.severity, func.count())
        .where(Incident.status != Status.RESOLVED)
        .group_by(Incident.severity)
    )
    return {severity: int(count) for severity, count in (await session.execute(stmt)).all()}
