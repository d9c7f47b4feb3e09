"""The probes' queries: the atomic claim of a due probe, its result, the results the daily
report reads, and the daily report's claim.

A claim is one UPDATE whose WHERE says "due, and nobody holds it" (`claim_due`): on SQLite and
PostgreSQL alike only one transaction sees its row match, so two replicas never run a probe
twice in an interval. The claim is committed before the check runs; `record` releases it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.probes import Verdict
from app.store.models import DailyReportRecord, ProbeResult, ProbeState

__all__ = [
    "KEEP_RESULTS",
    "STALE_REPORT_CLAIM",
    "claim_due",
    "claim_report",
    "ensure_states",
    "failures_since",
    "last_report_posted",
    "looks_due",
    "record",
    "release_report",
    "report_posted",
    "results_since",
    "set_alerting",
    "states",
]

KEEP_RESULTS = timedelta(days=8)
# A report claimed this long ago and not marked posted was claimed by a process that died
# mid-post: another pass takes it over (and looks in the channel first).
STALE_REPORT_CLAIM = timedelta(minutes=10)


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return pg_insert if dialect == "postgresql" else sqlite_insert


async def ensure_states(session: AsyncSession, names: Iterable[str], now: datetime) -> None:
    """A state row for every probe of the policy (a new probe is due at once)."""
    insert = _insert(session)
    for name in names:
        stmt = insert(ProbeState).values(name=name, next_run_at=now, failures=0, alerting=False)
        await session.execute(stmt.on_conflict_do_nothing())


def looks_due(state: ProbeState, now: datetime) -> bool:
    """What `claim_due` will check, read without a claim (to skip probes not due)."""
    lapsed = state.claimed_until is None or state.claimed_until < now
    return state.next_run_at <= now and lapsed


async def claim_due(
    session: AsyncSession, name: str, worker: str, now: datetime, lease: timedelta
) -> bool:
    """Claim probe `name` if it is due and unclaimed (or its claim lapsed)."""
    result = await session.execute(
        update(ProbeState)
        .where(
            ProbeState.name == name,
            ProbeState.next_run_at <= now,
            or_(ProbeState.claimed_until.is_(None), ProbeState.claimed_until < now),
        )
        .values(claimed_by=worker, claimed_until=now + lease)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def record(
    session: AsyncSession, name: str, verdict: Verdict, now: datetime, next_run_at: datetime
) -> ProbeState:
    """Save a check's outcome on the state (failures counted in a row) and as a result, and
    release the claim."""
    state = await session.get(ProbeState, name, with_for_update=True)
    assert state is not None
    state.failures = 0 if verdict.ok else state.failures + 1
    state.last_ok = verdict.ok
    state.last_error = None if verdict.ok else verdict.detail
    state.last_latency_ms = verdict.latency_ms
    state.last_checked_at = now
    if verdict.cert_expires_at is not None:
        state.cert_expires_at = verdict.cert_expires_at
    state.next_run_at = next_run_at
    state.claimed_by = None
    state.claimed_until = None
    # Results older than KEEP_RESULTS go as new ones come (by the (name, checked_at) index).
    await session.execute(
        delete(ProbeResult).where(
            ProbeResult.name == name, ProbeResult.checked_at < now - KEEP_RESULTS
        )
    )
    session.add(
        ProbeResult(
            name=name,
            checked_at=now,
            ok=verdict.ok,
            latency_ms=verdict.latency_ms,
            detail=verdict.detail,
        )
    )
    return state


async def set_alerting(session: AsyncSession, name: str, alerting: bool) -> None:
    await session.execute(
        update(ProbeState).where(ProbeState.name == name).values(alerting=alerting)
    )


async def states(session: AsyncSession) -> dict[str, ProbeState]:
    rows = (await session.execute(select(ProbeState))).scalars()
    return {row.name: row for row in rows}


async def results_since(session: AsyncSession, since: datetime) -> list[ProbeResult]:
    stmt = (
        select(ProbeResult)
        .where(ProbeResult.checked_at >= since)
        .order_by(ProbeResult.checked_at, ProbeResult.id)
    )
    return list((await session.execute(stmt)).scalars())


async def failures_since(session: AsyncSession, since: datetime) -> list[ProbeResult]:
    stmt = (
        select(ProbeResult)
        .where(ProbeResult.checked_at >= since, ProbeResult.ok.is_(False))
        .order_by(ProbeResult.checked_at, ProbeResult.id)
    )
    return list((await session.execute(stmt)).scalars())


async def claim_report(session: AsyncSession, day: date, worker: str, now: datetime) -> str | None:
    """Claim the report of `day`: "new", "stale" (taken over from a claim that never
    finished: the message may be in the channel already), or None (another pass has it or
    posted it)."""
    stmt = _insert(session)(DailyReportRecord).values(day=day, claimed_by=worker, claimed_at=now)
    result = await session.execute(stmt.on_conflict_do_nothing())
    if result.rowcount:  # type: ignore[attr-defined]
        return "new"
    stale = await session.execute(
        update(DailyReportRecord)
        .where(
            DailyReportRecord.day == day,
            DailyReportRecord.posted_at.is_(None),
            DailyReportRecord.claimed_at < now - STALE_REPORT_CLAIM,
        )
        .values(claimed_by=worker, claimed_at=now)
    )
    return "stale" if stale.rowcount else None  # type: ignore[attr-defined]


async def release_report(session: AsyncSession, day: date) -> None:
    await session.execute(
        delete(DailyReportRecord).where(
            DailyReportRecord.day == day, DailyReportRecord.posted_at.is_(None)
        )
    )


async def report_posted(session: AsyncSession, day: date, ts: str | None, now: datetime) -> None:
    await session.execute(
        update(DailyReportRecord).where(DailyReportRecord.day == day).values(posted_at=now, ts=ts)
    )


async def last_report_posted(session: AsyncSession, before: date) -> datetime | None:
    """When the latest report before `before` went out (None: never)."""
    stmt = (
        select(DailyReportRecord.posted_at)
        .where(DailyReportRecord.day < before, DailyReportRecord.posted_at.is_not(None))
        .order_by(DailyReportRecord.day.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()
