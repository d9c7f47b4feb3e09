"""Queries on the schedules' overrides and the hand-offs announced."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.rotation import Override
from app.store.models import Handoff, OnCallOverride

# An announcement claimed this long ago and never finished is taken over.
STALE_CLAIM = timedelta(minutes=2)


def as_override(row: OnCallOverride) -> Override:
    return Override(row.user_id, row.starts_at, row.ends_at, row.created_at)


async def overrides(
    session: AsyncSession, schedule: str | None, since: datetime, until: datetime
) -> list[OnCallOverride]:
    """Overrides (not removed) of `schedule` (every schedule: None) overlapping [since, until)."""
    stmt = select(OnCallOverride).where(
        OnCallOverride.removed_at.is_(None),
        OnCallOverride.ends_at > since,
        OnCallOverride.starts_at < until,
    )
    if schedule is not None:
        stmt = stmt.where(OnCallOverride.schedule == schedule)
    stmt = stmt.order_by(OnCallOverride.starts_at, OnCallOverride.id)
    return list((await session.execute(stmt)).scalars())


async def overrides_by_schedule(
    session: AsyncSession, since: datetime, until: datetime
) -> dict[str, list[Override]]:
    """Every schedule's overrides overlapping [since, until), as the rotation reads them."""
    found: dict[str, list[Override]] = {}
    for row in await overrides(session, None, since, until):
        found.setdefault(row.schedule, []).append(as_override(row))
    return found


async def add_override(
    session: AsyncSession,
    schedule: str,
    user_id: str,
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    now: datetime,
) -> OnCallOverride:
    row = OnCallOverride(
        schedule=schedule,
        user_id=user_id,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=created_by,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def remove_override(
    session: AsyncSession, override_id: int, removed_by: str, now: datetime
) -> OnCallOverride | None:
    """Mark an override removed (kept as the audit trail); None if there is no such one."""
    row = await session.get(OnCallOverride, override_id)
    if row is None or row.removed_at is not None:
        return None
    row.removed_at, row.removed_by = now, removed_by
    return row


async def claim_handoff(
    session: AsyncSession, schedule: str, starts_at: datetime, user_id: str, now: datetime
) -> bool:
    """Claim the announcement of one hand-off; False if another worker has (or had) it."""
    values = {"schedule": schedule, "starts_at": starts_at, "user_id": user_id, "claimed_at": now}
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Handoff).values(**values).on_conflict_do_nothing()
    result = await session.execute(stmt)
    if result.rowcount:  # type: ignore[attr-defined]
        return True
    # A claim left unannounced this long was made by a process that died mid-DM: take it
    # over (the announcement looks for the DM in Slack before sending it again).
    stale = await session.execute(
        update(Handoff)
        .where(
            Handoff.schedule == schedule,
            Handoff.starts_at == starts_at,
            Handoff.announced_at.is_(None),
            Handoff.claimed_at < now - STALE_CLAIM,
        )
        .values(claimed_at=now)
    )
    return bool(stale.rowcount)  # type: ignore[attr-defined]


async def handoff_announced(
    session: AsyncSession, schedule: str, starts_at: datetime, now: datetime
) -> None:
    await session.execute(
        update(Handoff)
        .where(Handoff.schedule == schedule, Handoff.starts_at == starts_at)
        .values(announced_at=now)
    )


async def release_handoff(session: AsyncSession, schedule: str, starts_at: datetime) -> None:
    """The DM failed: the next pass tries the announcement again."""
    await session.execute(
        delete(Handoff).where(
            Handoff.schedule == schedule,
            Handoff.starts_at == starts_at,
            Handoff.announced_at.is_(None),
        )
    )
