"""The scheduler's tick: an APScheduler interval job that sends due pages and reminders.

Started and stopped by the web app's lifespan, never at import. The first tick runs at start,
so steps that fell due while the bot was down go out at once (flagged late). Ticks never
overlap in one process; several processes may tick against one PostgreSQL, because claiming a
step is atomic (see `app.store.steps.claim_due`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app.context import BotContext
from app.runtime.health import SchedulerHeartbeat
from app.services import setup
from app.services.engine import new_worker_id, run_due_steps

log = logging.getLogger(__name__)

JOB_ID = "run_due_steps"
STOP_TIMEOUT = 30.0
# Interrupted incident setups (a replica killed mid-declare) are looked for this often.
RESUME_SETUPS_EVERY = 60.0


class StepScheduler:
    """Owns one AsyncIOScheduler; `start()` inside a running loop, `await stop()` to finish."""

    def __init__(self, bot: BotContext, interval: float) -> None:
        self.bot = bot
        self.interval = interval
        self.worker = new_worker_id()
        self.ticks = 0
        self._last_resume = float("-inf")
        self._scheduler: AsyncIOScheduler | None = None
        self._current: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    def start(self) -> None:
        if self.interval <= 0:
            log.info("scheduler off (ESCALATION_TICK_SECONDS=0): this process sends no pages")
            return
        if self._scheduler is not None:
            return
        apscheduler_log = logging.getLogger("apscheduler")
        if apscheduler_log.level == logging.NOTSET:
            # APScheduler logs every run at INFO; a tick every few seconds would drown the log.
            apscheduler_log.setLevel(logging.WARNING)
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self._tick,
            "interval",
            seconds=self.interval,
            id=JOB_ID,
            # A tick runs until nothing is due, so one may outlast the interval. The guard in
            # `_tick` skips the overlap quietly; APScheduler's own limit would log a warning
            # every time.
            max_instances=2,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
        )
        scheduler.start()
        self._scheduler = scheduler
        # /health and /metrics read the scheduler's pulse from here.
        self.bot.health.scheduler = SchedulerHeartbeat(
            interval=timedelta(seconds=self.interval), started_at=self.bot.clock.now()
        )
        log.info("scheduler started: a tick every %ss (worker %s)", self.interval, self.worker)

    async def _tick(self) -> None:
        if self._current is not None:
            log.debug("previous tick still running; this one is skipped")
            return
        self._current = asyncio.current_task()
        try:
            await run_due_steps(self.bot, worker=self.worker)
            loop_time = asyncio.get_running_loop().time()
            if loop_time - self._last_resume >= RESUME_SETUPS_EVERY:
                self._last_resume = loop_time
                await setup.resume_interrupted(self.bot)
        except Exception:  # noqa: BLE001 - one bad tick must not stop the next ones
            log.exception("scheduler tick failed")
        finally:
            self.ticks += 1
            self._current = None
            if self.bot.health.scheduler is not None:
                self.bot.health.scheduler.tick(self.bot.clock.now())

    async def stop(self) -> None:
        """Stop ticking, let a tick in progress finish (a page half-sent is worse), then stop."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        scheduler.remove_job(JOB_ID)
        current = self._current
        if current is not None and not current.done():
            try:
                async with asyncio.timeout(STOP_TIMEOUT):
                    await asyncio.shield(current)
            except TimeoutError:
                log.error("a tick did not finish within %ss; stopping anyway", STOP_TIMEOUT)
        scheduler.shutdown(wait=False)
        self.bot.health.scheduler = None
        log.info("scheduler stopped")
