"""The scheduler: wakes when a step falls due and runs the due durable steps.

An APScheduler interval job every ESCALATION_TICK_SECONDS is the fallback; the job's next run
is pulled earlier to the moment the next step may be claimed (the earliest pending
`next_attempt_at`, asked after every tick), to the due time of a step this process plans
(told after its commit, `BotContext.wakeup`), to another replica's (PostgreSQL NOTIFY), and to
now when a worker is known dead. Started and stopped by the web app's lifespan, never at
import. The first tick runs at start, so steps that fell due while the bot was down go out at
once (flagged late). Ticks never overlap in one process: a wake-up during a tick makes it
claim again at once (steps in flight do not hold back one due after them) and look again
before it ends; several processes may tick against one PostgreSQL, because claiming a
step is atomic (see `app.store.steps.claim_due`).

A second job announces on-call hand-offs (`app.services.handoffs`) every HANDOFFS_EVERY, the
first at start: its own job, so a slow DM never holds back a page, and replicas announce each
hand-off once because each is claimed in the database before the DM.

Two more jobs, for the same reason outside the tick: a probe pass every PROBES_EVERY
(`app.services.probes`: each due probe claimed in the database, so replicas run it once per
interval, and a slow target never delays a page) and a daily-report pass every
DAILY_REPORT_EVERY (`app.services.daily_report`: each day's report claimed before posting),
and, as often, the quarterly plan-review pass (`app.services.plan_review`, claimed likewise).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from app.context import BotContext
from app.runtime.health import SchedulerHeartbeat
from app.services import daily_report, handoffs, plan_review, probes, setup, workers
from app.services.engine import TickReport, new_worker_id, next_due, run_due_steps

log = logging.getLogger(__name__)

JOB_ID = "run_due_steps"
HANDOFF_JOB_ID = "announce_handoffs"
# How often the hand-offs of the last minutes are looked at (each is announced once).
HANDOFFS_EVERY = 60.0
PROBE_JOB_ID = "run_probes"
PROBES_EVERY = 1.0  # each probe runs at its own interval; this is how often due ones are looked for
DAILY_REPORT_JOB_ID = "daily_report"
PLAN_REVIEW_JOB_ID = "plan_review"
DAILY_REPORT_EVERY = 60.0
STOP_TIMEOUT = 30.0
# Interrupted incident setups (a replica killed mid-declare) are looked for this often.
RESUME_SETUPS_EVERY = 60.0
# After a tick that claimed nothing, the next one waits at least this long even if a step
# looks due (e.g. another replica holds its row locked while claiming it): no busy loop.
IDLE_GAP = 0.05


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
        self._handoffs: asyncio.Task[None] | None = None
        self._passes: dict[str, asyncio.Task[None]] = {}
        self._again = False
        self._woken = asyncio.Event()
        self._background: list[asyncio.Task[None]] = []

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
            # APScheduler logs every run at INFO; a tick per due step would drown the log.
            apscheduler_log.setLevel(logging.WARNING)
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self._tick,
            "interval",
            seconds=self.interval,
            id=JOB_ID,
            # A wake-up may start the job while a tick runs: the guard in `_tick` turns it into
            # "look again" quietly; APScheduler's own limit would log a warning every time.
            max_instances=4,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
        )
        scheduler.add_job(
            self._announce_handoffs,
            "interval",
            seconds=HANDOFFS_EVERY,
            id=HANDOFF_JOB_ID,
            max_instances=2,  # a pass still running makes the next one return at once, quietly
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
        )
        for job_id, every, job in (
            (PROBE_JOB_ID, PROBES_EVERY, self._run_probes),
            (DAILY_REPORT_JOB_ID, DAILY_REPORT_EVERY, self._daily_report),
            (PLAN_REVIEW_JOB_ID, DAILY_REPORT_EVERY, self._plan_review),
        ):
            scheduler.add_job(
                job,
                "interval",
                seconds=every,
                id=job_id,
                max_instances=2,  # a pass still running makes the next one return at once
                coalesce=True,
                misfire_grace_time=None,
                next_run_time=datetime.now(UTC),
            )
        scheduler.start()
        self._scheduler = scheduler
        self.bot.wakeup.subscribe(self.wake_at)
        self._background = [
            asyncio.create_task(
                workers.keep_alive(self.bot, self.worker, lambda _dead: self.wake_at(None)),
                name=f"heartbeat of {self.worker}",
            )
        ]
        if workers.notices_between_replicas(self.bot):
            self._background.append(
                asyncio.create_task(
                    workers.listen_for_steps(self.bot, self.wake_at), name="LISTEN for steps"
                )
            )
        # /health and /metrics read the scheduler's pulse from here.
        self.bot.health.scheduler = SchedulerHeartbeat(
            interval=timedelta(seconds=self.interval), started_at=self.bot.clock.now()
        )
        log.info(
            "scheduler started: wakes when a step falls due, looks at least every %ss (worker %s)",
            self.interval,
            self.worker,
        )

    def wake_at(self, due: datetime | None, *, at_least: float = 0.0) -> None:
        """Run a tick when a step falls due at `due` (the bot's clock; None: now).

        Only ever pulls the next tick earlier; the fallback interval bounds the sleep.
        """
        scheduler = self._scheduler
        if scheduler is None:
            return
        delay = 0.0 if due is None else (due - self.bot.clock.now()).total_seconds()
        run_at = datetime.now(UTC) + timedelta(seconds=max(delay, at_least))
        job = scheduler.get_job(JOB_ID)
        if job is None:
            return
        if job.next_run_time is None or run_at < job.next_run_time:
            job.modify(next_run_time=run_at)

    async def _tick(self) -> None:
        if self._current is not None:
            self._again = True  # the tick running looks again before it ends
            self._woken.set()  # and claims at once if it has steps in flight
            if self.bot.health.scheduler is not None:  # a long tick is a live one
                self.bot.health.scheduler.tick(self.bot.clock.now())
            return
        self._current = asyncio.current_task()
        try:
            report = TickReport()
            while self._scheduler is not None:
                self._again = False
                report = await self._run_due()
                loop_time = asyncio.get_running_loop().time()
                if loop_time - self._last_resume >= RESUME_SETUPS_EVERY:
                    self._last_resume = loop_time
                    await setup.resume_interrupted(self.bot)
                if not self._again:
                    break
            self.wake_at(await next_due(self.bot), at_least=0.0 if report.claimed else IDLE_GAP)
        except Exception:  # noqa: BLE001 - one bad tick must not stop the next ones
            log.exception("scheduler tick failed")
        finally:
            self.ticks += 1
            self._current = None
            if self.bot.health.scheduler is not None:
                self.bot.health.scheduler.tick(self.bot.clock.now())
            if self._again:  # woken after the last look: look again now
                self._again = False
                self.wake_at(None)

    async def _run_due(self) -> TickReport:
        """One pass over the due steps (a benchmark overrides it to keep the reports)."""
        return await run_due_steps(
            self.bot, worker=self.worker, woken=self._woken, claiming=lambda: self.running
        )

    async def _announce_handoffs(self) -> None:
        """One hand-off pass (never two at once in a process)."""
        if self._handoffs is not None or self._scheduler is None:
            return
        self._handoffs = asyncio.current_task()
        try:
            await handoffs.announce_handoffs(self.bot, self.bot.clock.now())
        except Exception:  # noqa: BLE001 - one bad pass must not stop the next ones
            log.exception("hand-off pass failed")
        finally:
            self._handoffs = None

    async def _run_probes(self) -> None:
        await self._pass(
            PROBE_JOB_ID, lambda: probes.run_probes(self.bot, self.bot.clock.now(), self.worker)
        )

    async def _daily_report(self) -> None:
        await self._pass(
            DAILY_REPORT_JOB_ID,
            lambda: daily_report.post_daily_report(self.bot, self.bot.clock.now(), self.worker),
        )

    async def _plan_review(self) -> None:
        await self._pass(
            PLAN_REVIEW_JOB_ID,
            lambda: plan_review.send_plan_review(self.bot, self.bot.clock.now(), self.worker),
        )

    async def _pass(self, job_id: str, run: Callable[[], Awaitable[object]]) -> None:
        """One pass of a side job (never two of one job at once in a process)."""
        if job_id in self._passes or self._scheduler is None:
            return
        task = asyncio.current_task()
        assert task is not None
        self._passes[job_id] = task
        try:
            await run()
        except Exception:  # noqa: BLE001 - one bad pass must not stop the next ones
            log.exception("%s pass failed", job_id)
        finally:
            del self._passes[job_id]

    async def stop(self) -> None:
        """Stop ticking, let a tick in progress finish (a page half-sent is worse), then stop."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        self.bot.wakeup.unsubscribe(self.wake_at)
        scheduler.remove_job(JOB_ID)
        scheduler.remove_job(HANDOFF_JOB_ID)
        scheduler.remove_job(PROBE_JOB_ID)
        scheduler.remove_job(DAILY_REPORT_JOB_ID)
        # A hand-off claimed but not yet sent would stay unannounced: let the pass finish too.
        for current in (self._current, self._handoffs, *self._passes.values()):
            if current is not None and not current.done():
                try:
                    async with asyncio.timeout(STOP_TIMEOUT):
                        await asyncio.shield(current)
                except TimeoutError:
                    log.error("a tick did not finish within %ss; stopping anyway", STOP_TIMEOUT)
        background, self._background = self._background, []
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await workers.stopped(self.bot, self.worker)
        scheduler.shutdown(wait=False)
        self.bot.health.scheduler = None
        log.info("scheduler stopped")
