"""Queries on alert links: which open incident an alert belongs to, and how many incidents a
source's alerts have opened lately (the storm limit, counted in the database so that every
replica sees the same number)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.lifecycle import Status
from app.store.models import AlertLink, AlertRole, Incident


async def open_link(session: AsyncSession, source: str, fingerprint: str) -> AlertLink | None:
    """The newest link of this alert to an incident that is still open."""
    return await _newest_open_link(session, source, AlertLink.fingerprint == fingerprint)


async def open_link_in_group(session: AsyncSession, source: str, group: str) -> AlertLink | None:
    """A link of another alert of the same sender group, whose incident is still open."""
    return await _newest_open_link(session, source, AlertLink.group_key == group)


async def _newest_open_link(
    session: AsyncSession, source: str, which: ColumnElement[bool]
) -> AlertLink | None:
    stmt = (
        select(AlertLink)
        .join(Incident, Incident.id == AlertLink.incident_id)
        .where(AlertLink.source == source, which, Incident.status != Status.RESOLVED)
        .order_by(AlertLink.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def times_declared(session: AsyncSession, source: str, fingerprint: str) -> int:
    """How many incidents this alert has been linked to (each new one gets the next number)."""
    stmt = select(func.count()).where(
        AlertLink.source == source, AlertLink.fingerprint == fingerprint
    )
    return int((await session.execute(stmt)).scalar_one())


async def links_of(session: AsyncSession, incident_id: int) -> list[AlertLink]:
    stmt = select(AlertLink).where(AlertLink.incident_id == incident_id).order_by(AlertLink.id)
    return list((await session.execute(stmt)).scalars())


async def declared_since(session: AsyncSession, source: str, since: datetime) -> int:
    """How many incidents alerts of `source` have declared since `since` (storm incidents are
    not counted)."""
    stmt = select(func.count()).where(
        AlertLink.source == source,
        AlertLink.role == AlertRole.DECLARED,
        AlertLink.first_seen_at >= since,
    )
    return int((await session.execute(stmt)).scalar_one())


async def open_storm_link(session: AsyncSession, source: str) -> AlertLink | None:
    """A link to the open alert-storm incident of `source`, if there is one."""
    return await _newest_open_link(session, source, AlertLink.role == AlertRole.STORM)


async def storms_declared(session: AsyncSession, source: str) -> int:
    """How many alert-storm incidents `source` has had (each new one gets the next number)."""
    stmt = select(func.count(distinct(AlertLink.incident_id))).where(
        AlertLink.source == source, AlertLink.role == AlertRole.STORM
    )
    return int((await session.execute(stmt)).scalar_one())
