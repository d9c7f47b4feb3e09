"""Taking due steps for one worker, and holding them while they run.

The claim is committed before anything is sent, in the same transaction as the worker's
heartbeat, so no other worker ever sees a claim whose worker it does not know. While handlers
run, `Holding` renews their leases and the heartbeat; a step whose worker is known dead is
claimed again at once (`store.claim_due`), the lease being the last resort.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.config.settings import Settings
from app.context import BotContext
from app.store import steps as store
from app.store import workers
from app.store.models import Incident, ScheduledStep, StepMessage

log = logging.getLogger(__name__)

# A worker that has missed this many heartbeats is dead: what it holds is taken over.
MISSED_BEATS = 3
# A handler may run this share of a lease past its claim's last renewal: if the database stops
# taking renewals, the handler stops before another worker may take the step.
STEP_TIMEOUT_SHARE = 0.8
# However often it is renewed, no handler runs longer than this (a hung call must not hold a
# page for ever).
STEP_MAX_SECONDS = 600.0


@dataclass
class Claimed:
    step: ScheduledStep
    incident: Incident
    sent: list[StepMessage]


def new_worker_id() -> str:
    """Who holds a claim: host, process, and a random part so two loops never share one."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def dead_after(settings: Settings) -> timedelta:
    """How long a worker may stay silent before it is known dead."""
    return timedelta(seconds=settings.worker_heartbeat_seconds * MISSED_BEATS)


def renew_every(settings: Settings) -> float:
    """Seconds between renewals: every heartbeat, and several times within a (short) lease."""
    return min(settings.worker_heartbeat_seconds, settings.lease_seconds / 4)


async def claim(
    ctx: BotContext, worker: str, limit: int, step_ids: list[int] | None = None
) -> list[Claimed]:
    """Claim (and commit the claim with a heartbeat), then load the claimed steps."""
    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        ids = await store.claim_due(
            session,
            worker=worker,
            now=now,
            lease_until=now + timedelta(seconds=ctx.settings.lease_seconds),
            limit=limit,
            step_ids=step_ids,
            dead_after=dead_after(ctx.settings),
        )
        if ids:
            await workers.beat(session, worker, now)
    if not ids:
        return []
    async with ctx.sessions() as session:
        rows = await store.load_claimed(session, ids)
    return [Claimed(step, incident, sent) for step, incident, sent in rows]


async def next_due(ctx: BotContext) -> datetime | None:
    """When the earliest pending step may be claimed (for the scheduler's next wake-up)."""
    async with ctx.sessions() as session:
        return await store.next_due(session)


async def stop_worker(ctx: BotContext, worker: str) -> None:
    """Mark `worker` stopped: anything it still holds may be taken by others at once."""
    async with ctx.sessions.begin() as session:
        await workers.stop(session, worker, ctx.clock.now())


class Holding:
    """The steps one worker is running: their leases and its heartbeat renewed together.

    Each handler runs under a deadline that every successful renewal pushes back. If renewals
    fail (the database is away), the handler is stopped before its lease can run out; if a
    step is no longer this worker's (cancelled, or taken over), its handler is stopped at once.
    """

    def __init__(self, ctx: BotContext, worker: str) -> None:
        self.ctx = ctx
        self.worker = worker
        self.share = ctx.settings.lease_seconds * STEP_TIMEOUT_SHARE
        self._deadlines: dict[int, tuple[asyncio.Timeout, float]] = {}

    @contextlib.asynccontextmanager
    async def renewing(self) -> AsyncIterator[Holding]:
        """Renew in the background while the block runs."""
        task = asyncio.create_task(self._renew_forever(), name=f"renew claims of {self.worker}")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @contextlib.asynccontextmanager
    async def running(self, step_id: int) -> AsyncIterator[None]:
        """Run a handler while this worker's claim on `step_id` is known to hold."""
        loop = asyncio.get_running_loop()
        cap = loop.time() + max(STEP_MAX_SECONDS, self.share)
        async with asyncio.timeout(self.share) as deadline:
            self._deadlines[step_id] = (deadline, cap)
            try:
                yield
            finally:
                self._deadlines.pop(step_id, None)

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - the deadline stands; the lease covers the rest
            log.warning("could not renew the claims of %s: %s", self.worker, exc)

    async def _renew_forever(self) -> None:
        every = renew_every(self.ctx.settings)
        while True:
            await asyncio.sleep(every)
            if self._deadlines:
                with self._quiet():
                    await self.renew()

    async def renew(self) -> None:
        ids = sorted(self._deadlines)
        now = self.ctx.clock.now()
        until = now + timedelta(seconds=self.ctx.settings.lease_seconds)
        async with self.ctx.sessions.begin() as session:
            kept = set(await store.renew(session, ids, self.worker, until, now))
            await workers.beat(session, self.worker, now)
        loop = asyncio.get_running_loop()
        for step_id in ids:
            held = self._deadlines.get(step_id)
            if held is None:
                continue
            deadline, cap = held
            if step_id in kept:
                deadline.reschedule(min(loop.time() + self.share, cap))
            else:
                log.info("step %s is no longer held by %s; its handler stops", step_id, self.worker)
                deadline.reschedule(loop.time())
