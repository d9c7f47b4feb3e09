"""Queries on scheduled steps: the atomic claim, and the few updates that must not race it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import ScheduledStep, StepMessage, StepStatus

_steps = ScheduledStep.__table__
LIVE_KEY = "status <> 'cancelled' AND dedupe_key IS NOT NULL"  # the partial unique index's WHERE


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind else "sqlite"


async def insert(
    session: AsyncSession,
    *,
    incident_id: int,
    kind: str,
    due_at: datetime,
    now: datetime,
    level: str | None = None,
    key: str | None = None,
    data: dict[str, Any] | None = None,
) -> int | None:
    """Add a pending step; None when a live step with the same key already exists.

    The partial unique index on (incident_id, dedupe_key) decides, so two processes scheduling
    the same page at once end up with one row, without a lock or a retry loop.
    """
    insert_ = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    stmt = insert_(ScheduledStep).values(
        incident_id=incident_id,
        kind=kind,
        dedupe_key=key,
        level=level,
        status=StepStatus.PENDING,
        due_at=due_at,
        next_attempt_at=due_at,
        attempts=0,
        late=False,
        data=data or {},
        created_at=now,
        updated_at=now,
    )
    # The predicate is spelled exactly as the index's, literally: PostgreSQL must be able to
    # prove the arbiter index from it, which a bound parameter would prevent.
    stmt = stmt.on_conflict_do_nothing(
        index_elements=["incident_id", "dedupe_key"], index_where=text(LIVE_KEY)
    ).returning(ScheduledStep.id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def claim_due(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    step_ids: Sequence[int] | None = None,
) -> list[int]:
    """Take up to `limit` due steps for `worker`, atomically; the caller commits at once.

    PostgreSQL: `FOR UPDATE SKIP LOCKED` lets replicas claim disjoint rows without waiting on
    each other. SQLite has no row locks, but the single UPDATE statement runs under its write
    lock, which is enough for the one replica SQLite serves. Claiming moves `next_attempt_at`
    to the end of the lease, so a worker that dies mid-step leaves the row to be claimed again.
    """
    due = (
        select(ScheduledStep.id)
        .where(ScheduledStep.status == StepStatus.PENDING, ScheduledStep.next_attempt_at <= now)
        .order_by(ScheduledStep.next_attempt_at, ScheduledStep.id)
        .limit(limit)
    )
    if step_ids is not None:
        due = due.where(ScheduledStep.id.in_(list(step_ids)))
    if _dialect(session) == "postgresql":
        due = due.with_for_update(skip_locked=True)
    stmt = (
        update(_steps)
        .where(_steps.c.id.in_(due))
        .values(
            claimed_by=worker,
            claimed_at=now,
            next_attempt_at=lease_until,
            attempts=_steps.c.attempts + 1,
            updated_at=now,
        )
        .returning(_steps.c.id)
    )
    return sorted((await session.execute(stmt)).scalars())


async def reschedule(
    session: AsyncSession, step_id: int, due_at: datetime, now: datetime, **fields: Any
) -> bool:
    """Move a pending step that is not being sent right now; False if it was not moved.

    A step in flight keeps its lease: shortening it would let a second worker claim it.
    """
    result = await session.execute(
        update(_steps)
        .where(
            _steps.c.id == step_id,
            _steps.c.status == StepStatus.PENDING,
            or_(_steps.c.claimed_by.is_(None), _steps.c.next_attempt_at <= now),
        )
        .values(due_at=due_at, next_attempt_at=due_at, updated_at=now, **fields)
    )
    return bool(result.rowcount)


async def cancel_pending(
    session: AsyncSession,
    incident_id: int,
    kinds: Iterable[str],
    now: datetime,
    *,
    levels: Iterable[str] | None = None,
) -> int:
    """Cancel an incident's pending steps of these kinds (and levels); returns how many."""
    conditions = [
        _steps.c.incident_id == incident_id,
        _steps.c.status == StepStatus.PENDING,
        _steps.c.kind.in_(list(kinds)),
    ]
    if levels is not None:
        conditions.append(_steps.c.level.in_(list(levels)))
    result = await session.execute(
        update(_steps).where(*conditions).values(status=StepStatus.CANCELLED, updated_at=now)
    )
    return int(result.rowcount or 0)


async def for_incident(
    session: AsyncSession,
    incident_id: int,
    kinds: Iterable[str] | None = None,
    statuses: Iterable[str] | None = None,
) -> list[ScheduledStep]:
    stmt = select(ScheduledStep).where(ScheduledStep.incident_id == incident_id)
    if kinds is not None:
        stmt = stmt.where(ScheduledStep.kind.in_(list(kinds)))
    if statuses is not None:
        stmt = stmt.where(ScheduledStep.status.in_(list(statuses)))
    return list((await session.execute(stmt.order_by(ScheduledStep.id))).scalars())


async def count_for_incident(session: AsyncSession, incident_id: int, kind: str) -> int:
    stmt = select(func.count()).where(
        ScheduledStep.incident_id == incident_id, ScheduledStep.kind == kind
    )
    return int((await session.execute(stmt)).scalar_one())


async def messages_of_step(session: AsyncSession, step_id: int) -> list[StepMessage]:
    stmt = select(StepMessage).where(StepMessage.step_id == step_id).order_by(StepMessage.id)
    return list((await session.execute(stmt)).scalars())


async def messages_of_kind(session: AsyncSession, incident_id: int, kind: str) -> list[StepMessage]:
    """Messages sent by an incident's steps of one kind (e.g. every page), oldest first."""
    stmt = (
        select(StepMessage)
        .join(ScheduledStep, ScheduledStep.id == StepMessage.step_id)
        .where(
            StepMessage.incident_id == incident_id,
            ScheduledStep.kind == kind,
            StepMessage.ts.is_not(None),
        )
        .order_by(StepMessage.id)
    )
    return list((await session.execute(stmt)).scalars())


__all__ = [
    "cancel_pending",
    "claim_due",
    "count_for_incident",
    "for_incident",
    "insert",
    "messages_of_kind",
    "messages_of_step",
    "reschedule",
]
