"""A scheduler tick: claim due steps, run each kind's handler, record how each ended.

Recording an outcome is retried for a few seconds (the database blinked); if it still fails,
the step is handed back, due at once, so another attempt (which finds in Slack what this one
already sent) follows within seconds instead of after the claim's lease.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from app.context import BotContext
from app.domain.escalation import is_late
from app.domain.timeline import Kind
from app.services import timeline
from app.services.engine.claim import Claimed, Holding, claim, new_worker_id, stop_worker
from app.services.engine.kinds import handler_for
from app.services.engine.run import StepRun
from app.services.slack_errors import is_transient, slack_error
from app.store import steps as store
from app.store.models import StepStatus

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=10)
# A step that failed because the database did (not Slack) is tried again this soon.
DATABASE_BACKOFF = timedelta(seconds=1)
# Pauses between tries of recording an outcome, then of handing the step back.
RECORD_RETRIES = (0.2, 0.5, 1.0)
RELEASE_RETRIES = (0.5, 1.0, 2.0, 4.0)
BACKOFF_MAX = timedelta(minutes=5)
MAX_ATTEMPTS = 12  # about 40 minutes of retries before a step is given up and reported
CLAIM_BATCH = 50
MAX_CLAIMS_PER_PASS = 1000
CONCURRENCY = 16


@dataclass
class TickReport:
    claimed: int = 0
    sent: int = 0
    cancelled: int = 0
    deferred: int = 0
    retried: int = 0
    failed: int = 0
    late: int = 0
    seconds: float = 0.0


async def run_due_steps(
    ctx: BotContext,
    *,
    worker: str | None = None,
    batch: int = CLAIM_BATCH,
    concurrency: int = CONCURRENCY,
    woken: asyncio.Event | None = None,
    claiming: Callable[[], bool] = lambda: True,
) -> TickReport:
    """One scheduler pass: claim and send every due step until none is due and none runs.

    Steps are claimed only as slots free up (so every claimed step runs, its lease renewed),
    and claimed again whenever a step ends or `woken` is set (the scheduler's alarm): a slow
    step (a call waiting out Slack's rate limit) never holds back a step due after it. Steps
    scheduled due "now" by a handler (the next level after an empty one) are picked up by the
    same pass. Once `claiming()` turns false (the scheduler stops), the steps running finish
    and nothing more is claimed. Without `worker` (tests, tools) the pass is a worker of its
    own, stopped when it ends.
    """
    started = time.perf_counter()
    own_worker = worker is None
    worker = worker or new_worker_id()
    report = TickReport()

    async with Holding(ctx, worker).renewing() as holding:
        await _claim_and_run(ctx, worker, holding, report, batch, concurrency, woken, claiming)
    if own_worker and report.claimed:
        await _stopped(ctx, worker)
    report.seconds = time.perf_counter() - started
    if report.claimed:
        log.info(
            "tick: %d claimed, %d sent (%d late), %d cancelled, %d retried, %d failed in %.3fs",
            report.claimed,
            report.sent,
            report.late,
            report.cancelled,
            report.retried,
            report.failed,
            report.seconds,
        )
    return report


async def _claim_and_run(
    ctx: BotContext,
    worker: str,
    holding: Holding,
    report: TickReport,
    batch: int,
    concurrency: int,
    woken: asyncio.Event | None,
    claiming: Callable[[], bool],
) -> None:
    cache: dict[str, Any] = {}
    running: set[asyncio.Task[None]] = set()
    claims = 0
    try:
        while True:
            # Bounded, so handlers that keep planning steps due "now" cannot hold a pass
            # forever: past the bound (or once told to stop), what runs finishes, and that is all.
            more = claims < MAX_CLAIMS_PER_PASS and claiming()
            wanted = min(batch, concurrency - len(running)) if more else 0
            if wanted > 0:
                claims += 1
                if woken is not None:
                    woken.clear()
                claimed = await claim(ctx, worker, wanted)
                report.claimed += len(claimed)
                running |= {
                    asyncio.create_task(_run_one(ctx, item, worker, holding, cache, report))
                    for item in claimed
                }
                if len(claimed) == wanted:
                    continue  # maybe more are due: claim again while slots are free
            elif woken is not None:
                woken.clear()  # no free slot: the next one to free up claims anyway
            if not running:
                break
            running -= await _next_event(running, woken if more else None)
    except BaseException:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        raise


async def _next_event(
    running: set[asyncio.Task[None]], woken: asyncio.Event | None
) -> set[asyncio.Task[None]]:
    """Wait until a step ends or the alarm rings; the steps that ended."""
    waiters: set[asyncio.Future[Any]] = set(running)
    alarm = None if woken is None else asyncio.ensure_future(woken.wait())
    if alarm is not None:
        waiters.add(alarm)
    try:
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if alarm is not None and not alarm.done():
            alarm.cancel()
    return {task for task in running if task in done}


async def run_now(ctx: BotContext, step_ids: Iterable[int]) -> TickReport:
    """Send these steps now if they are due and nobody holds them (e.g. L1's page at setup)."""
    worker = new_worker_id()
    report = TickReport()
    claimed = await claim(ctx, worker, CLAIM_BATCH, list(step_ids))
    report.claimed = len(claimed)
    if not claimed:
        return report
    async with Holding(ctx, worker).renewing() as holding:
        for item in claimed:
            await _run_one(ctx, item, worker, holding, {}, report)
    await _stopped(ctx, worker)
    return report


async def run_pending(ctx: BotContext, incident_id: int, kind: str) -> TickReport:
    """Run now an incident's pending steps of `kind` that are due and nobody holds (the
    post-mortem upload in the resolving process, a ticket asked for with /incident ticket)."""
    async with ctx.sessions() as session:
        steps = await store.for_incident(session, incident_id, [kind], [StepStatus.PENDING])
    return await run_now(ctx, [step.id for step in steps]) if steps else TickReport()


async def _stopped(ctx: BotContext, worker: str) -> None:
    """A one-off worker is done: if it could not hand a step back, others may take it now."""
    try:
        await stop_worker(ctx, worker)
    except Exception as exc:  # noqa: BLE001 - it is then known dead after a few heartbeats
        log.warning("could not mark worker %s stopped: %s", worker, exc)


async def _run_one(
    ctx: BotContext,
    claimed: Claimed,
    worker: str,
    holding: Holding,
    cache: dict[str, Any],
    report: TickReport,
) -> None:
    step, incident = claimed.step, claimed.incident
    if step.claimed_by != worker:
        return
    run = StepRun(
        ctx=ctx,
        step=step,
        incident=incident,
        now=ctx.clock.now(),
        cache=cache,
        sent={m.recipient: m for m in claimed.sent},
        data=dict(step.data or {}),
    )
    handler = handler_for(step.kind)
    outcome: Callable[[], Awaitable[None]]
    try:
        if handler is None:
            raise LookupError(f"no handler for step kind {step.kind!r}")
        async with holding.running(step.id):
            await handler(run)
    except Exception as exc:  # noqa: BLE001 - any failure leaves the step for a retry
        outcome = functools.partial(_release, ctx, run, worker, exc, report)
    else:
        outcome = functools.partial(_finish, ctx, run, worker, report)
    await _record(ctx, run, worker, outcome)


async def _record(
    ctx: BotContext, run: StepRun, worker: str, outcome: Callable[[], Awaitable[None]]
) -> None:
    """Record how a step ended, retrying briefly; failing that, hand the step back, due now.

    Both are safe to repeat: each is one transaction guarded by the claim (`store.settle`).
    """
    step = run.step
    for pause in (*RECORD_RETRIES, None):
        try:
            await outcome()
            return
        except Exception as exc:  # noqa: BLE001 - e.g. the database went away for a moment
            log.warning("step %s (%s): could not record its outcome: %s", step.id, step.kind, exc)
            if pause is not None:
                await asyncio.sleep(pause)
    for pause in (*RELEASE_RETRIES, None):
        try:
            now = ctx.clock.now()
            async with ctx.sessions.begin() as session:
                await store.settle(
                    session,
                    step.id,
                    worker,
                    claimed_by=None,
                    next_attempt_at=now,
                    updated_at=now,
                    last_error="its outcome could not be saved",
                )
            log.warning("step %s (%s) handed back for another attempt", step.id, step.kind)
            return
        except Exception as exc:  # noqa: BLE001 - still no database
            if pause is None:
                # It stays claimed until its lease ends or this worker is known dead or stops;
                # what it sent is in Slack with its metadata, so the next attempt finds it.
                log.error("step %s (%s) could not be handed back: %s", step.id, step.kind, exc)
            else:
                await asyncio.sleep(pause)


async def _finish(ctx: BotContext, run: StepRun, worker: str, report: TickReport) -> None:
    now = ctx.clock.now()
    step = run.step
    if run.reason:
        run.data["reason"] = run.reason
    values: dict[str, Any] = {"data": run.data, "updated_at": now, "last_error": None}
    if run.outcome == StepStatus.PENDING and run.defer_until is not None:
        values.update(
            due_at=run.defer_until,
            next_attempt_at=run.defer_until,
            claimed_by=None,
            attempts=0,
        )
    else:
        values["status"] = run.outcome
        if run.outcome == StepStatus.SENT:
            values.update(sent_at=now, late=is_late(step.due_at, now))
    async with ctx.sessions.begin() as session:
        if not await store.settle(session, step.id, worker, **values):
            # Cancelled meanwhile (acknowledged, resolved) or our lease was taken over: the
            # messages already sent stay sent, but no follow-up is planned from a stale state.
            log.info("step %s changed while it was being sent; follow-ups skipped", step.id)
            return
        if run.outcome == StepStatus.SENT:
            for hook in run.after_hooks:
                await hook(session)
    if run.outcome == StepStatus.SENT:
        report.sent += 1
        report.late += int(is_late(step.due_at, now))
    elif run.outcome == StepStatus.CANCELLED:
        report.cancelled += 1
    else:
        report.deferred += 1


def _database_failed(exc: BaseException) -> bool:
    """The step failed because the database did (a message Slack took could not be saved).

    SQLAlchemy wraps the driver's errors, except a refused connection (asyncpg raises the
    socket's OSError as it is): that one is known by having come up through SQLAlchemy.
    """
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated
    return isinstance(exc, OSError) and any(
        str(frame.f_globals.get("__name__", "")).startswith("sqlalchemy.")
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    )


async def _release(
    ctx: BotContext, run: StepRun, worker: str, exc: BaseException, report: TickReport
) -> None:
    """Put a failed step back with a backoff, or give it up after MAX_ATTEMPTS."""
    now = ctx.clock.now()
    step = run.step
    # Slack's error code; for anything else (a tracker, SMTP, Twilio) what the exception says.
    error = slack_error(exc) if isinstance(exc, SlackApiError) else f"{slack_error(exc)}: {exc}"
    give_up = step.attempts >= MAX_ATTEMPTS
    if is_transient(exc) or isinstance(exc, SlackApiError):
        log.warning("step %s (%s) attempt %d failed: %s", step.id, step.kind, step.attempts, error)
    else:
        log.exception("step %s (%s) crashed", step.id, step.kind, exc_info=exc)
    delay = min(BACKOFF_BASE * 2 ** max(step.attempts - 1, 0), BACKOFF_MAX)
    if _database_failed(exc):
        delay = DATABASE_BACKOFF
    values: dict[str, Any] = {
        "claimed_by": None,
        "last_error": error[:500],
        "updated_at": now,
        "next_attempt_at": now + delay,
    }
    if give_up:
        values["status"] = StepStatus.FAILED
    async with ctx.sessions.begin() as session:
        released = await store.settle(session, step.id, worker, **values)
        if give_up and released:
            log.error("step %s (%s) given up after %d attempts", step.id, step.kind, step.attempts)
            timeline.record(
                session,
                run.incident,
                Kind.STEP_FAILED,
                now=now,
                text=f"Gave up sending a {step.kind.replace('_', ' ')}"
                + (f" to {step.level}" if step.level else "")
                + f" after {step.attempts} attempts: {error}",
                data={"step_id": step.id, "kind": step.kind, "error": error},
            )
    if give_up:
        report.failed += 1
    else:
        report.retried += 1
