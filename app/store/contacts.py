"""Queries on people's contact methods (`/incident contact`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import ContactMethod


async def of_users(
    session: AsyncSession, user_ids: Iterable[str], kind: str | None = None
) -> list[ContactMethod]:
    """The contact methods of these people (of one kind), oldest first."""
    stmt = select(ContactMethod).where(ContactMethod.user_id.in_(list(user_ids)))
    if kind is not None:
        stmt = stmt.where(ContactMethod.kind == kind)
    stmt = stmt.order_by(ContactMethod.user_id, ContactMethod.id)
    return list((await session.execute(stmt)).scalars())


async def owner_of(session: AsyncSession, kind: str, address: str) -> str | None:
    """Whose contact method `address` is (an SMS reply's From number), if anyone's."""
    stmt = select(ContactMethod.user_id).where(
        ContactMethod.kind == kind, ContactMethod.address == address
    )
    return (await session.execute(stmt)).scalars().first()


async def add(
    session: AsyncSession, user_id: str, kind: str, address: str, now: datetime
) -> ContactMethod | None:
    """Add one; None when the person has it already."""
    existing = await session.execute(
        select(ContactMethod).where(
            ContactMethod.user_id == user_id,
            ContactMethod.kind == kind,
            ContactMethod.address == address,
        )
    )
    if existing.scalars().first() is not None:
        return None
    row = ContactMethod(user_id=user_id, kind=kind, address=address, created_at=now)
    session.add(row)
    await session.flush()
    return row


async def remove(session: AsyncSession, user_id: str, address: str) -> int:
    """Remove the person's methods with this address (any kind); how many."""
    result = await session.execute(
        delete(ContactMethod).where(
            ContactMethod.user_id == user_id, ContactMethod.address == address
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
