"""A process's worker: its heartbeat, the deaths it notices, and the notices it listens for.

The scheduler runs `keep_alive` for its worker: every WORKER_HEARTBEAT_SECONDS it beats, and
it looks for workers that fell silent since its last beat (a replica killed, a declare's page
interrupted), so their steps are taken over at once rather than at the next fallback tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from app.context import BotContext
from app.services.engine.claim import dead_after, stop_worker
from app.store import wakeups
from app.store import workers as store

log = logging.getLogger(__name__)

FORGET_EVERY = 3600.0  # seconds between deletions of workers long gone


async def keep_alive(ctx: BotContext, worker: str, on_death: Callable[[list[str]], None]) -> None:
    """Beat until cancelled; `on_death(ids)` when other workers are newly known dead."""
    loop = asyncio.get_running_loop()
    silence = dead_after(ctx.settings)
    checked = ctx.clock.now()
    forgot = float("-inf")
    failing = False
    while True:
        now = ctx.clock.now()
        try:
            async with ctx.sessions.begin() as session:
                await store.beat(session, worker, now)
                died = await store.died_between(session, checked, now, silence)
                if loop.time() - forgot >= FORGET_EVERY:
                    forgot = loop.time()
                    await store.forget_old(session, now)
        except Exception as exc:  # noqa: BLE001 - the database is away; beat again later
            if not failing:
                log.warning("worker %s could not beat: %s", worker, exc)
            failing = True
        else:
            if failing:
                log.info("worker %s beats again", worker)
            failing = False
            checked = now
            died = [w for w in died if w != worker]
            if died:
                log.warning("workers known dead, their work is taken over: %s", ", ".join(died))
                on_death(died)
        await asyncio.sleep(ctx.settings.worker_heartbeat_seconds)


async def stopped(ctx: BotContext, worker: str) -> None:
    """A clean stop, recorded so others need not wait for missed beats."""
    try:
        await stop_worker(ctx, worker)
    except Exception as exc:  # noqa: BLE001 - then it is known dead after a few beats
        log.warning("could not record that worker %s stopped: %s", worker, exc)


def notices_between_replicas(ctx: BotContext) -> bool:
    """Whether other replicas can wake this one (PostgreSQL's LISTEN/NOTIFY)."""
    return ctx.engine.dialect.name == "postgresql"


async def listen_for_steps(ctx: BotContext, on_due: Callable[[datetime | None], None]) -> None:
    """Until cancelled: `on_due(due)` whenever any replica commits a step due at `due`."""
    await wakeups.listen(ctx.engine, on_due)
