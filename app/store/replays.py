"""The signatures of signed Slack requests already applied (refusing exact replays)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.db import changed_rows, insert_for
from app.store.models import RequestSignature


async def claim_signature(session: AsyncSession, signature: str, request_ts: int) -> bool:
    """Record that the request signed `signature` is being applied; False if it already was.

    An insert that ignores conflicts: atomic on SQLite and PostgreSQL and across replicas, so of
    two requests carrying one signature exactly one gets True.
    """
    stmt = insert_for(session)(RequestSignature).values(signature=signature, request_ts=request_ts)
    return (
        await changed_rows(session, stmt.on_conflict_do_nothing(index_elements=["signature"])) == 1
    )


async def signature_seen(session: AsyncSession, signature: str) -> bool:
    """Whether a request signed `signature` was applied (by any replica)."""
    found = await session.execute(
        select(RequestSignature.signature).where(RequestSignature.signature == signature)
    )
    return found.first() is not None


async def prune_signatures(session: AsyncSession, before_ts: int) -> int:
    """Forget signatures of requests timestamped before `before_ts`; how many were deleted."""
    return await changed_rows(
        session, delete(RequestSignature).where(RequestSignature.request_ts < before_ts)
    )
