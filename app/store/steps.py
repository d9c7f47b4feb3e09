"""Queries on scheduled steps: the atomic claim, and the few updates that must not race it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.db import changed_rows, insert_for
from app.store.models import Incident, ScheduledStep, StepMessage, StepStatus
from app.store.wakeups import note_due
from app.store.workers import held_by_dead_worker

_steps = cast(Table, ScheduledStep.__table__)
LIVE_KEY = "status <> 'cancelled' AND dedupe_key IS NOT NULL"  # the partial unique index's WHERE


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
    stmt = insert_for(session)(ScheduledStep).values(
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
    returning = stmt.on_conflict_do_nothing(
        index_elements=["incident_id", "dedupe_key"], index_where=text(LIVE_KEY)
    ).returning(ScheduledStep.id)
    step_id = (await session.execute(returning)).scalar_one_or_none()
    if step_id is not None:
        note_due(session, due_at)
    return step_id


async def claim_due(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    step_ids: Sequence[int] | None = None,
    dead_after: timedelta | None = None,
) -> list[int]:
    """Take up to `limit` steps for `worker`, atomically; the caller commits at once.

    A step is taken when it is due (`next_attempt_at <= now`: its due time, its retry time, or
    the end of a claim's lease), or, with `dead_after`, when the worker holding it is dead,
    stopped or unknown (`app.store.workers`), however long its lease still runs. A worker
    renews its steps' leases while their handlers run, so a held step's `next_attempt_at` is
    never more than a lease ahead: `lease_until` bounds the rows that second test looks at.

    PostgreSQL: `FOR UPDATE SKIP LOCKED` lets replicas claim disjoint rows without waiting on
    each other. SQLite has no row locks, but the single UPDATE statement runs under its write
    lock, which is enough for the one replica SQLite serves. Claiming moves `next_attempt_at`
    to the end of the lease, so a step is claimed again if its worker stops renewing it.
    """
    takeable: Any = ScheduledStep.next_attempt_at <= now
    if dead_after is not None:
        orphaned = held_by_dead_worker(
            ScheduledStep.claimed_by, now, dead_after, claimed_at=ScheduledStep.claimed_at
        )
        takeable = and_(ScheduledStep.next_attempt_at <= lease_until, or_(takeable, orphaned))
    due = (
        select(ScheduledStep.id)
        .where(ScheduledStep.status == StepStatus.PENDING, takeable)
        .order_by(ScheduledStep.next_attempt_at, ScheduledStep.id)
        .limit(limit)
    )
    if step_ids is not None:
        due = due.where(ScheduledStep.id.in_(list(step_ids)))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
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


async def renew(
    session: AsyncSession,
    step_ids: Sequence[int],
    worker: str,
    lease_until: datetime,
    now: datetime,
) -> list[int]:
    """Extend `worker`'s claims on these steps to `lease_until`; the ids it still holds."""
    result = await session.execute(
        update(_steps)
        .where(
            _steps.c.id.in_(list(step_ids)),
            _steps.c.status == StepStatus.PENDING,
            _steps.c.claimed_by == worker,
        )
        .values(next_attempt_at=lease_until, updated_at=now)
        .returning(_steps.c.id)
    )
    return sorted(result.scalars())


async def next_due(session: AsyncSession) -> datetime | None:
    """When the earliest pending step may next be claimed (ix_steps_status_next_attempt)."""
    stmt = select(func.min(ScheduledStep.next_attempt_at)).where(
        ScheduledStep.status == StepStatus.PENDING
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def load_claimed(
    session: AsyncSession, step_ids: Sequence[int]
) -> list[tuple[ScheduledStep, Incident, list[StepMessage]]]:
    """The claimed steps with their incidents, in due order, and what each already sent.

    Only a step tried before can have sent something, so only those are asked for messages.
    """
    rows = (
        await session.execute(
            select(ScheduledStep, Incident)
            .join(Incident, Incident.id == ScheduledStep.incident_id)
            .where(ScheduledStep.id.in_(list(step_ids)))
            .order_by(ScheduledStep.next_attempt_at, ScheduledStep.id)
        )
    ).all()
    retried = [step.id for step, _ in rows if step.attempts > 1]
    sent: dict[int, list[StepMessage]] = {}
    if retried:
        messages = await session.execute(
            select(StepMessage).where(StepMessage.step_id.in_(retried))
        )
        for message in messages.scalars():
            sent.setdefault(message.step_id, []).append(message)
    return [(step, incident, sent.get(step.id, [])) for step, incident in rows]


async def settle(session: AsyncSession, step_id: int, worker: str, **values: Any) -> bool:
    """Record how a claimed step ended; False if it is no longer pending and held by `worker`.

    Cancelled meanwhile (acknowledged, resolved) or taken over (its worker seen dead, or its
    lease ran out): the caller then plans nothing from what it believed. A step left pending
    with a new `next_attempt_at` (a retry, a deferral, a hand-back) wakes the scheduler then.
    """
    changed = await changed_rows(
        session,
        update(ScheduledStep)
        .where(
            ScheduledStep.id == step_id,
            ScheduledStep.status == StepStatus.PENDING,
            ScheduledStep.claimed_by == worker,
        )
        .values(**values)
        .execution_options(synchronize_session=False),
    )
    retry_at = values.get("next_attempt_at")
    if (
        changed
        and retry_at is not None
        and values.get("status", StepStatus.PENDING) == StepStatus.PENDING
    ):
        note_due(session, retry_at)
    return bool(changed)


async def reschedule(
    session: AsyncSession, step_id: int, due_at: datetime, now: datetime, **fields: Any
) -> bool:
    """Move a pending step that is not being sent right now; False if it was not moved.

    A step in flight keeps its lease: shortening it would let a second worker claim it. A moved
    step is held by nobody (`claimed_by` cleared): only steps in flight name a worker.
    """
    changed = await changed_rows(
        session,
        update(_steps)
        .where(
            _steps.c.id == step_id,
            _steps.c.status == StepStatus.PENDING,
            or_(_steps.c.claimed_by.is_(None), _steps.c.next_attempt_at <= now),
        )
        .values(due_at=due_at, next_attempt_at=due_at, claimed_by=None, updated_at=now, **fields),
    )
    if changed:
        note_due(session, due_at)
    return bool(changed)


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
    return await changed_rows(
        session,
        update(_steps).where(*conditions).values(status=StepStatus.CANCELLED, updated_at=now),
    )


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


async def messages_of_kind(
    session: AsyncSession, incident_id: int, kind: str | tuple[str, ...]
) -> list[StepMessage]:
    """Messages sent by an incident's steps of one kind or several (e.g. every page and backup
    page), oldest first."""
    kinds = (kind,) if isinstance(kind, str) else kind
    stmt = (
        select(StepMessage)
        .join(ScheduledStep, ScheduledStep.id == StepMessage.step_id)
        .where(
            StepMessage.incident_id == incident_id,
            ScheduledStep.kind.in_(kinds),
            StepMessage.ts.is_not(None),
        )
        .order_by(StepMessage.id)
    )
    return list((await session.execute(stmt)).scalars())


async def was_sent_to(
    session: AsyncSession, incident_id: int, kind: str | tuple[str, ...], recipient: str
) -> bool:
    """Whether one of an incident's steps of `kind` (e.g. a page, or a page or a backup page)
    reached `recipient` (a user id: a DM Slack accepted)."""
    kinds = (kind,) if isinstance(kind, str) else kind
    stmt = (
        select(StepMessage.id)
        .join(ScheduledStep, ScheduledStep.id == StepMessage.step_id)
        .where(
            StepMessage.incident_id == incident_id,
            StepMessage.recipient == recipient,
            ScheduledStep.kind.in_(kinds),
            StepMessage.ts.is_not(None),
        )
        .limit(1)
    )
    return (await session.execute(stmt)).first() is not None


__all__ = [
    "cancel_pending",
    "claim_due",
    "for_incident",
    "insert",
    "load_claimed",
    "messages_of_kind",
    "next_due",
    "renew",
    "reschedule",
    "settle",
    "was_sent_to",
]
