"""Queries on action items."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import ActionItem


async def for_incident(session: AsyncSession, incident_id: int) -> list[ActionItem]:
    """The incident's items in the order they were added (their number is their position)."""
    stmt = (
        select(ActionItem)
        .where(ActionItem.incident_id == incident_id)
        .order_by(ActionItem.created_at, ActionItem.id)
    )
    return list((await session.execute(stmt)).scalars())


async def get(session: AsyncSession, item_id: int) -> ActionItem | None:
    """The item as stored now (also when the session already holds an older copy)."""
    return await session.get(ActionItem, item_id, populate_existing=True)
