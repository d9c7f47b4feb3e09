"""The plan-review reminders' queries (`plan_reviews`): the atomic claim of a quarter's reminder,
and what became of it.

The claim has the daily report's shape (`app.store.probes.claim_report`): an INSERT that does
nothing when the quarter's row exists ("new" when it made the row), else one UPDATE whose WHERE
says "not sent, and nobody holds it, or the hold is older than the lease" ("retry"). On SQLite
and PostgreSQL alike only one transaction sees its row match, so replicas passing at the same
time claim a quarter once. The claim is committed before Slack is called.

A failure does not release the claim: it stays until its lease lapses, so a later pass retries
(and first looks in the DM for what the failed try may have sent).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import PlanReviewSent

__all__ = ["LEASE", "Claim", "claim", "failed", "note_channel", "sent"]

# A claim this old and not marked sent was left by a failed try or a process that died between
# the claim and Slack's answer: a later pass takes it over.
LEASE = timedelta(minutes=10)

Claim = Literal["new", "retry"]


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return pg_insert if dialect == "postgresql" else sqlite_insert


async def claim(session: AsyncSession, quarter: str, worker: str, now: datetime) -> Claim | None:
    """Claim the reminder of `quarter` ("2026Q3"): "new" (nobody tried it), "retry" (taken over
    from a try that failed or never finished: it may be in the DM already), or None (sent, or
    another pass holds it)."""
    stmt = _insert(session)(PlanReviewSent).values(
        quarter=quarter, claimed_by=worker, claimed_at=now
    )
    made = await session.execute(stmt.on_conflict_do_nothing())
    if made.rowcount:  # type: ignore[attr-defined]
        return "new"
    taken = await session.execute(
        update(PlanReviewSent)
        .where(
            PlanReviewSent.quarter == quarter,
            PlanReviewSent.sent_at.is_(None),
            or_(
                PlanReviewSent.claimed_at.is_(None),
                PlanReviewSent.claimed_at < now - LEASE,
            ),
        )
        .values(claimed_by=worker, claimed_at=now)
    )
    return "retry" if taken.rowcount else None  # type: ignore[attr-defined]


async def note_channel(session: AsyncSession, quarter: str, channel_id: str) -> None:
    """The owner's DM, where the reminder goes (and where a retry looks first)."""
    await session.execute(
        update(PlanReviewSent)
        .where(PlanReviewSent.quarter == quarter)
        .values(channel_id=channel_id)
    )


async def failed(session: AsyncSession, quarter: str, worker: str, error: str) -> None:
    """A try failed: the error is kept, the claim left to lapse (a later pass retries)."""
    await session.execute(
        update(PlanReviewSent)
        .where(
            PlanReviewSent.quarter == quarter,
            PlanReviewSent.claimed_by == worker,
            PlanReviewSent.sent_at.is_(None),
        )
        .values(error=error[:500])
    )


async def sent(session: AsyncSession, quarter: str, file_id: str | None, now: datetime) -> None:
    await session.execute(
        update(PlanReviewSent)
        .where(PlanReviewSent.quarter == quarter)
        .values(sent_at=now, file_id=file_id, error=None)
    )
