"""Step kinds and their handlers, and planning a step of a registered kind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.services.engine.run import StepRun
from app.store import steps as store
from app.store.models import Incident

Handler = Callable[[StepRun], Awaitable[None]]

# Filled by `app.wiring` at start, never by importing a module.
_HANDLERS: dict[str, Handler] = {}


def register_kind(kind: str, handler: Handler) -> None:
    """Name the function that sends steps of `kind`; registering it again changes nothing."""
    registered = _HANDLERS.get(kind)
    if registered is not None and registered is not handler:
        raise ValueError(f"step kind {kind!r} registered twice")
    _HANDLERS[kind] = handler


def handler_for(kind: str) -> Handler | None:
    return _HANDLERS.get(kind)


def registered_kinds() -> frozenset[str]:
    return frozenset(_HANDLERS)


async def schedule(
    session: AsyncSession,
    incident: Incident,
    kind: str,
    due_at: datetime,
    data: dict[str, Any] | None = None,
    *,
    now: datetime,
    level: str | None = None,
    key: str | None = None,
) -> int | None:
    """Plan a step in the caller's transaction; returns its id, or None if `key` is taken.

    `key` makes scheduling idempotent: a second call with the same key for the same incident
    (a retried setup, a replica racing) adds nothing while the first step is live. Once the
    caller's transaction commits, the schedulers are told the step's due time (this process's
    at once, other replicas' by NOTIFY on PostgreSQL): it is sent on time, not at a poll.
    """
    if kind not in _HANDLERS:
        raise ValueError(f"no handler for step kind {kind!r}")
    return await store.insert(
        session,
        incident_id=incident.id,
        kind=kind,
        due_at=due_at,
        now=now,
        level=level,
        key=key,
        data=data,
    )
