"""The workers table: who may hold a claim, and who is known dead.

A worker is one claimer (a process's scheduler, or one `run_now` call) with a heartbeat. A
claim (a step's `claimed_by`; incident setup is a step too) names its worker; the claim
stands while that worker is alive, i.e. has beaten within `dead_after` and has not stopped.
A claim whose worker is dead, stopped or unknown (never registered, or pruned) may be taken
over at once: no claimer's lease needs to run out. A worker registers by beating in the
transaction that claims, so a claim is never seen before its worker is.

A claim of another kind would add `held_by_dead_worker(Table.c.holder, ...)`, the SQL
condition, to its takeover's WHERE clause.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.db import changed_rows, insert_for
from app.store.models import Worker

# Rows of workers gone this long are deleted: whatever they held has long been taken over.
FORGET_AFTER = timedelta(days=1)


def alive_ids(now: datetime, dead_after: timedelta) -> Select[str]:
    """SELECT of the ids of workers alive at `now` (beaten within `dead_after`, not stopped)."""
    return select(Worker.id).where(
        Worker.stopped_at.is_(None), Worker.heartbeat_at >= now - dead_after
    )


def held_by_dead_worker(
    holder: Any, now: datetime, dead_after: timedelta, claimed_at: Any = None
) -> ColumnElement[bool]:
    """SQL: the claim in column `holder` names a worker that is dead, stopped or unknown.

    With `claimed_at`, a claim made within the last `dead_after` is never taken: its worker
    cannot have missed its beats yet (and a worker on a clock a little behind keeps its work).
    """
    condition = and_(holder.is_not(None), holder.not_in(alive_ids(now, dead_after)))
    if claimed_at is not None:
        condition = and_(condition, claimed_at <= now - dead_after)
    return condition


async def alive_worker_ids(session: AsyncSession, now: datetime, dead_after: timedelta) -> set[str]:
    return set((await session.execute(alive_ids(now, dead_after))).scalars())


async def beat(session: AsyncSession, worker: str, now: datetime) -> None:
    """Register `worker` or renew its heartbeat (a worker seen dead that beats again is alive)."""
    stmt = insert_for(session)(Worker).values(
        id=worker, started_at=now, heartbeat_at=now, stopped_at=None
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["id"], set_={"heartbeat_at": now, "stopped_at": None}
        )
    )


async def stop(session: AsyncSession, worker: str, now: datetime) -> None:
    """A clean stop: whatever `worker` still holds may be taken by others at once."""
    await session.execute(
        update(Worker)
        .where(Worker.id == worker)
        .values(stopped_at=now)
        .execution_options(synchronize_session=False)
    )


async def died_between(
    session: AsyncSession, since: datetime, now: datetime, dead_after: timedelta
) -> list[str]:
    """Workers that became known dead after `since` and by `now`: their last beat fell out of
    the `dead_after` window in between, and they did not stop cleanly."""
    stmt = select(Worker.id).where(
        Worker.stopped_at.is_(None),
        Worker.heartbeat_at >= since - dead_after,
        Worker.heartbeat_at < now - dead_after,
    )
    return list((await session.execute(stmt)).scalars())


async def forget_old(session: AsyncSession, now: datetime) -> int:
    """Delete workers not heard of for FORGET_AFTER (a claim naming one counts as unknown)."""
    return await changed_rows(
        session, delete(Worker).where(Worker.heartbeat_at < now - FORGET_AFTER)
    )


__all__ = [
    "alive_ids",
    "alive_worker_ids",
    "beat",
    "died_between",
    "forget_old",
    "held_by_dead_worker",
    "stop",
]
