"""The scheduled-step engine: durable, claimed atomically, sent once.

Anything that must happen at a time (a page, a reminder) is a `scheduled_steps` row. A tick
claims the due rows (see `store.steps.claim_due`) and commits the claim before calling Slack;
each kind's handler, registered with `@step_handler("kind")`, then sends its messages through
`StepRun.post`, which saves every message's ts the moment Slack answers, so a retry skips what
already went out. A Slack failure leaves the step pending with a backoff; a step claimed by a
worker that died is claimed again when its lease runs out; a step sent more than a minute after
its due time is flagged late.

New kinds (review reminders, action-item nudges...) need only `schedule(...)` and a handler.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config.policy import Policy
from app.context import BotContext
from app.domain.escalation import is_late
from app.services import timeline
from app.store import steps as store
from app.store.models import Incident, ScheduledStep, StepMessage, StepStatus

log = logging.getLogger(__name__)

# A claim holds for LEASE_SECONDS (settings) before another worker may take the step; a handler
# may run for this share of it, so it never overlaps the worker that takes over.
STEP_TIMEOUT_SHARE = 0.8
BACKOFF_BASE = timedelta(seconds=10)
BACKOFF_MAX = timedelta(minutes=5)
MAX_ATTEMPTS = 12  # about 40 minutes of retries before a step is given up and reported
CLAIM_BATCH = 50
MAX_BATCHES_PER_TICK = 200
CONCURRENCY = 16
STEP_MESSAGE_EVENT = "incident_step"  # message metadata tying a Slack message to its step

# Slack answers that mean "try again later" rather than "this will never work".
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "request_timeout",
        "service_unavailable",
    }
)

Handler = Callable[["StepRun"], Awaitable[None]]
AfterHook = Callable[[AsyncSession], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}


def step_handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that sends steps of `kind`."""

    def register(handler: Handler) -> Handler:
        if kind in HANDLERS:
            raise ValueError(f"step kind {kind!r} registered twice")
        HANDLERS[kind] = handler
        return handler

    return register


def is_transient(exc: BaseException) -> bool:
    """Whether retrying later may succeed: 5xx, 429, network trouble, Slack's own hiccups."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        return status >= 500 or status == 429 or exc.response.get("error") in TRANSIENT_ERRORS
    return isinstance(exc, ClientError | OSError | TimeoutError)


def slack_error(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return type(exc).__name__


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
    (a retried setup, a replica racing) adds nothing while the first step is live.
    """
    if kind not in HANDLERS:
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


@dataclass
class StepRun:
    """One attempt at one step: what a handler reads, and how it sends and finishes."""

    ctx: BotContext
    step: ScheduledStep
    incident: Incident
    now: datetime
    cache: dict[str, Any]
    sent: dict[str, StepMessage]
    data: dict[str, Any] = field(default_factory=dict)
    outcome: str = StepStatus.SENT
    defer_until: datetime | None = None
    reason: str | None = None
    _after: list[AfterHook] = field(default_factory=list)
    _policy: Policy | None = None

    @property
    def policy(self) -> Policy:
        """The policy in force when the incident was declared, not the current file."""
        if self._policy is None:
            self._policy = Policy.from_snapshot(self.incident.policy_snapshot)
        return self._policy

    @property
    def late(self) -> bool:
        return is_late(self.step.due_at, self.now)

    @property
    def lateness(self) -> timedelta:
        return self.now - self.step.due_at

    async def post(
        self, recipient: str, channel: str, text: str, blocks: list[Any] | None = None
    ) -> StepMessage:
        """Send one message unless this step already sent it; save its ts at once.

        A permanent refusal (a deactivated user, an archived channel) is saved as that
        recipient's error and not retried; a transient one raises, so the step is retried.
        """
        existing = self.sent.get(recipient)
        if existing is not None:
            return existing
        message = StepMessage(
            step_id=self.step.id,
            incident_id=self.incident.id,
            recipient=recipient,
            channel=channel,
            text=text,
            created_at=self.now,
        )
        tag = {
            "event_type": STEP_MESSAGE_EVENT,
            "event_payload": {"step": self.step.id, "recipient": recipient},
        }
        if self.step.attempts > 1 and (found := await self._already_in_slack(channel, tag)):
            # A worker that died after Slack accepted this message never saved its ts.
            message.channel, message.ts = found
            return await self._saved(recipient, message)
        try:
            response = await self.ctx.slack.chat_postMessage(
                channel=channel, text=text, blocks=blocks, metadata=tag
            )
        except SlackApiError as exc:
            if is_transient(exc):
                raise
            message.error = slack_error(exc)[:64]
            log.warning(
                "step %s (%s) could not reach %s: %s",
                self.step.id,
                self.step.kind,
                recipient,
                message.error,
            )
        else:
            message.channel = response["channel"]
            message.ts = response["ts"]
        return await self._saved(recipient, message)

    async def _saved(self, recipient: str, message: StepMessage) -> StepMessage:
        async with self.ctx.sessions.begin() as session:
            session.add(message)
        self.sent[recipient] = message
        return message

    async def _already_in_slack(self, channel: str, tag: dict[str, Any]) -> tuple[str, str] | None:
        """On a retry only: the (channel, ts) of this step's message to `channel` if Slack has it.

        Looked up by the message metadata every step message carries. If the lookup itself
        fails, the message is sent: a page twice is better than a page lost.
        """
        try:
            target = channel
            if channel[:1] in {"U", "W"}:  # a DM: Slack keeps it in the bot's IM with the user
                target = (await self.ctx.slack.conversations_open(users=channel))["channel"]["id"]
            history = await self.ctx.slack.conversations_history(
                channel=target, limit=100, include_all_metadata=True
            )
        except SlackApiError as exc:
            log.warning(
                "step %s: could not look for its earlier message: %s",
                self.step.id,
                slack_error(exc),
            )
            return None
        for sent in history.get("messages", []):
            if (sent.get("metadata") or {}).get("event_payload") == tag["event_payload"]:
                return target, str(sent["ts"])
        return None

    def after(self, hook: AfterHook) -> None:
        """Run `hook(session)` in the transaction that marks the step sent (follow-ups, log)."""
        self._after.append(hook)

    def cancel(self, reason: str) -> None:
        """Nothing to send any more (acknowledged, resolved...): close the step as cancelled."""
        self.outcome = StepStatus.CANCELLED
        self.reason = reason

    def defer(self, until: datetime, reason: str) -> None:
        """Not due after all (e.g. the target moved): keep it pending until `until`."""
        if until <= self.now:
            raise ValueError("defer to a time in the future, or send the step now")
        if self.sent:
            # A retry only reloads sent messages for steps tried before; deferring resets that.
            raise RuntimeError("a step that already sent messages cannot be deferred")
        self.outcome = StepStatus.PENDING
        self.defer_until = until
        self.reason = reason


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


def new_worker_id() -> str:
    """Who holds a claim: host, process, and a random part so two loops never share one."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def run_due_steps(
    ctx: BotContext,
    *,
    worker: str | None = None,
    batch: int = CLAIM_BATCH,
    concurrency: int = CONCURRENCY,
) -> TickReport:
    """One scheduler tick: claim and send every due step, batch after batch, until none is due.

    Steps scheduled due "now" by a handler (the next level after an empty one) are picked up
    by the next batch of the same tick.
    """
    started = time.perf_counter()
    worker = worker or new_worker_id()
    report = TickReport()
    cache: dict[str, Any] = {}
    limit = asyncio.Semaphore(concurrency)

    async def run(claimed: _Claimed) -> None:
        async with limit:
            await _run_one(ctx, claimed, worker, cache, report)

    # Bounded, so a handler that keeps planning steps due "now" cannot hold a tick forever.
    for _ in range(MAX_BATCHES_PER_TICK):
        claimed = await _claim(ctx, worker, batch)
        if not claimed:
            break
        report.claimed += len(claimed)
        await asyncio.gather(*(run(item) for item in claimed))
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


async def run_now(ctx: BotContext, step_ids: Iterable[int]) -> TickReport:
    """Send these steps now if they are due and nobody holds them (e.g. L1's page at setup)."""
    worker = new_worker_id()
    report = TickReport()
    claimed = await _claim(ctx, worker, CLAIM_BATCH, list(step_ids))
    report.claimed = len(claimed)
    for item in claimed:
        await _run_one(ctx, item, worker, {}, report)
    return report


@dataclass
class _Claimed:
    step: ScheduledStep
    incident: Incident
    sent: list[StepMessage]


async def _claim(
    ctx: BotContext, worker: str, limit: int, step_ids: list[int] | None = None
) -> list[_Claimed]:
    """Claim (and commit the claim), then load the claimed steps in one round trip."""
    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        ids = await store.claim_due(
            session,
            worker=worker,
            now=now,
            lease_until=now + timedelta(seconds=ctx.settings.lease_seconds),
            limit=limit,
            step_ids=step_ids,
        )
    if not ids:
        return []
    async with ctx.sessions() as session:
        rows = (
            await session.execute(
                select(ScheduledStep, Incident)
                .join(Incident, Incident.id == ScheduledStep.incident_id)
                .where(ScheduledStep.id.in_(ids))
                .order_by(ScheduledStep.next_attempt_at, ScheduledStep.id)
            )
        ).all()
        # Only a step tried before can have sent something already.
        retried = [step.id for step, _ in rows if step.attempts > 1]
        sent: dict[int, list[StepMessage]] = {}
        if retried:
            messages = await session.execute(
                select(StepMessage).where(StepMessage.step_id.in_(retried))
            )
            for message in messages.scalars():
                sent.setdefault(message.step_id, []).append(message)
    return [_Claimed(step, incident, sent.get(step.id, [])) for step, incident in rows]


async def _run_one(
    ctx: BotContext, claimed: _Claimed, worker: str, cache: dict[str, Any], report: TickReport
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
    handler = HANDLERS.get(step.kind)
    try:
        if handler is None:
            raise LookupError(f"no handler for step kind {step.kind!r}")
        async with asyncio.timeout(ctx.settings.lease_seconds * STEP_TIMEOUT_SHARE):
            await handler(run)
    except Exception as exc:  # noqa: BLE001 - any failure leaves the step for a retry
        outcome: Awaitable[None] = _release(ctx, run, worker, exc, report)
    else:
        outcome = _finish(ctx, run, worker, report)
    try:
        await outcome
    except Exception:  # noqa: BLE001 - e.g. the database went away; the lease covers it
        # The step stays claimed until its lease ends, then is tried again; what it already
        # sent is saved, so the retry does not send it twice.
        log.exception("step %s (%s): could not record its outcome", step.id, step.kind)


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
        result = await session.execute(
            update(ScheduledStep)
            .where(
                ScheduledStep.id == step.id,
                ScheduledStep.status == StepStatus.PENDING,
                ScheduledStep.claimed_by == worker,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:
            # Cancelled meanwhile (acknowledged, resolved) or our lease was taken over: the
            # messages already sent stay sent, but no follow-up is planned from a stale state.
            log.info("step %s changed while it was being sent; follow-ups skipped", step.id)
            return
        if run.outcome == StepStatus.SENT:
            for hook in run._after:
                await hook(session)
    if run.outcome == StepStatus.SENT:
        report.sent += 1
        report.late += int(is_late(step.due_at, now))
    elif run.outcome == StepStatus.CANCELLED:
        report.cancelled += 1
    else:
        report.deferred += 1


async def _release(
    ctx: BotContext, run: StepRun, worker: str, exc: BaseException, report: TickReport
) -> None:
    """Put a failed step back with a backoff, or give it up after MAX_ATTEMPTS."""
    now = ctx.clock.now()
    step = run.step
    error = slack_error(exc)
    give_up = step.attempts >= MAX_ATTEMPTS
    if is_transient(exc) or isinstance(exc, SlackApiError):
        log.warning("step %s (%s) attempt %d failed: %s", step.id, step.kind, step.attempts, error)
    else:
        log.exception("step %s (%s) crashed", step.id, step.kind, exc_info=exc)
    delay = min(BACKOFF_BASE * 2 ** max(step.attempts - 1, 0), BACKOFF_MAX)
    values: dict[str, Any] = {
        "claimed_by": None,
        "last_error": error[:500],
        "updated_at": now,
        "next_attempt_at": now + delay,
    }
    if give_up:
        values["status"] = StepStatus.FAILED
    async with ctx.sessions.begin() as session:
        result = await session.execute(
            update(ScheduledStep)
            .where(
                ScheduledStep.id == step.id,
                ScheduledStep.status == StepStatus.PENDING,
                ScheduledStep.claimed_by == worker,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if give_up and result.rowcount:
            log.error("step %s (%s) given up after %d attempts", step.id, step.kind, step.attempts)
            timeline.record(
                session,
                run.incident,
                timeline.Kind.STEP_FAILED,
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


async def pending(session: AsyncSession, incident_id: int, kind: str) -> list[ScheduledStep]:
    return await store.for_incident(session, incident_id, [kind], [StepStatus.PENDING])


async def latest(session: AsyncSession, incident_id: int, kind: str) -> ScheduledStep | None:
    stmt = (
        select(ScheduledStep)
        .where(ScheduledStep.incident_id == incident_id, ScheduledStep.kind == kind)
        .order_by(ScheduledStep.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()
