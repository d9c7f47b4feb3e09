"""Queries on status posts (`status_posts`): a draft written by the preview, settled once
(published or cancelled) by a conditional UPDATE, and what the public page reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.db import changed_rows
from app.store.models import StatusPost

DRAFT = "draft"
PUBLISHED = "published"
CANCELLED = "cancelled"


async def add_draft(
    session: AsyncSession,
    *,
    incident_id: int,
    message: str,
    services: list[str],
    impact: str,
    phase: str,
    drafted_by: str,
    now: datetime,
    data: dict[str, Any],
) -> StatusPost:
    """A new draft, flushed so that it has its id (for the preview's buttons)."""
    post = StatusPost(
        incident_id=incident_id,
        state=DRAFT,
        message=message,
        services=services,
        impact=impact,
        phase=phase,
        drafted_by=drafted_by,
        drafted_at=now,
        data=data,
    )
    session.add(post)
    await session.flush()
    return post


async def get(session: AsyncSession, post_id: int) -> StatusPost | None:
    return await session.get(StatusPost, post_id, populate_existing=True)


async def settle(session: AsyncSession, post_id: int, state: str, *, by: str, at: datetime) -> bool:
    """Move a draft to `state` (published or cancelled); False when it is no longer a draft
    (a second click, a retry, someone else first): of any number of tries, one returns True."""
    values: dict[str, Any] = {"state": state}
    if state == PUBLISHED:
        values.update(published_by=by, published_at=at)
    stmt = (
        update(StatusPost)
        .where(StatusPost.id == post_id, StatusPost.state == DRAFT)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return await changed_rows(session, stmt) == 1


async def published_since(
    session: AsyncSession, incident_id: int, since: datetime, *, other_than: int
) -> StatusPost | None:
    """The latest post of the incident published at or after `since`, other than `other_than`."""
    stmt = (
        select(StatusPost)
        .where(
            StatusPost.incident_id == incident_id,
            StatusPost.state == PUBLISHED,
            StatusPost.published_at >= since,
            StatusPost.id != other_than,
        )
        .order_by(StatusPost.published_at.desc(), StatusPost.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()
