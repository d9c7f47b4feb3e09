"""People's names as Slack last gave them (the `people` table)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.db import insert_for
from app.store.models import Person


async def known(session: AsyncSession, user_ids: Collection[str]) -> dict[str, Person]:
    """The stored names of `user_ids`, by id (ids never looked up are absent)."""
    if not user_ids:
        return {}
    rows = await session.execute(select(Person).where(Person.user_id.in_(list(user_ids))))
    return {person.user_id: person for person in rows.scalars()}


async def remember(session: AsyncSession, names: Mapping[str, str], now: datetime) -> None:
    """Store or refresh these names; two processes storing the same person both succeed."""
    for user_id, name in names.items():
        stmt = (
            insert_for(session)(Person)
            .values(user_id=user_id, name=name, fetched_at=now)
            .on_conflict_do_update(
                index_elements=[Person.user_id], set_={"name": name, "fetched_at": now}
            )
        )
        await session.execute(stmt)
