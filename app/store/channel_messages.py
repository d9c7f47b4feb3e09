"""Queries on the messages heard in incident channels (ChannelMessage).

Every write is an upsert on (channel, ts), so a redelivered event, a retry and two replicas
hearing the same message all leave one row, and the order events arrive in does not matter:
a new message never overwrites an edit or a deletion, an edit never revives a deleted message,
and an older edit never overwrites a newer one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.lifecycle import Status
from app.store.db import changed_rows, insert_for
from app.store.models import ChannelMessage, Incident

KEY = ["channel", "ts"]
CONTENT = ("user_id", "bot_id", "username", "text", "files", "thread_ts", "edit_ts")


async def add_posted(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """New messages (ChannelMessage columns as dicts), in one statement; known ones are left
    as they are."""
    if not rows:
        return
    stmt = insert_for(session)(ChannelMessage).values(list(rows))
    await session.execute(stmt.on_conflict_do_nothing(index_elements=KEY))


async def apply_edit(session: AsyncSession, row: dict[str, Any]) -> None:
    """The message as an edit left it: inserted if unknown, else replacing an older version."""
    stmt = insert_for(session)(ChannelMessage).values(**row)
    newer = or_(ChannelMessage.edit_ts.is_(None), ChannelMessage.edit_ts <= stmt.excluded.edit_ts)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=KEY,
            set_={name: stmt.excluded[name] for name in CONTENT},
            where=and_(ChannelMessage.deleted.is_(False), newer),
        )
    )


async def mark_deleted(session: AsyncSession, incident_id: int, channel: str, ts: str) -> None:
    """The message is gone: its content is dropped, the row stays to say so."""
    stmt = insert_for(session)(ChannelMessage).values(
        channel=channel, ts=ts, incident_id=incident_id, text="", files=[], deleted=True
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=KEY,
            set_={"text": "", "files": [], "deleted": True},
        )
    )


async def find_many(
    session: AsyncSession, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], ChannelMessage]:
    """The rows of these (channel, ts) messages that exist, in one query."""
    by_channel: dict[str, list[str]] = {}
    for channel, ts in keys:
        by_channel.setdefault(channel, []).append(ts)
    if not by_channel:
        return {}
    stmt = select(ChannelMessage).where(
        or_(
            *(
                and_(ChannelMessage.channel == channel, ChannelMessage.ts.in_(stamps))
                for channel, stamps in by_channel.items()
            )
        )
    )
    return {(row.channel, row.ts): row for row in (await session.execute(stmt)).scalars()}


async def prune_resolved(session: AsyncSession, resolved_before: datetime) -> int:
    """Forget the messages of incidents resolved before `resolved_before`."""
    resolved = select(Incident.id).where(
        Incident.status == Status.RESOLVED, Incident.resolved_at < resolved_before
    )
    return await changed_rows(
        session, delete(ChannelMessage).where(ChannelMessage.incident_id.in_(resolved))
    )


async def prune_over_cap(session: AsyncSession, cap: int) -> int:
    """Keep at most the `cap` newest messages of each channel; returns how many went."""
    crowded = (
        select(ChannelMessage.channel).group_by(ChannelMessage.channel).having(func.count() > cap)
    )
    removed = 0
    for channel in list((await session.execute(crowded)).scalars()):
        oldest_kept = (
            select(ChannelMessage.ts)
            .where(ChannelMessage.channel == channel)
            .order_by(ChannelMessage.ts.desc())
            .offset(cap - 1)
            .limit(1)
        ).scalar_subquery()
        removed += await changed_rows(
            session,
            delete(ChannelMessage).where(
                ChannelMessage.channel == channel, ChannelMessage.ts < oldest_kept
            ),
        )
    return removed


async def count(session: AsyncSession, channel: str | None = None) -> int:
    stmt = select(func.count()).select_from(ChannelMessage)
    if channel is not None:
        stmt = stmt.where(ChannelMessage.channel == channel)
    return int((await session.execute(stmt)).scalar_one())
