"""Incident setup as a durable step: planned in the declaring transaction, run at once by the
declaring process, retried by the engine until done.

The `setup` step's handler runs every part not done yet (`slack_steps`), independent parts
concurrently. A part Slack failed for now (a 5xx, a 429, a timeout) makes the step raise, so the
engine tries it again after a backoff; on a retry, parts whose call may have been done look in
Slack before doing it again. A part Slack refused for good (a permission, no free channel
name) is reported once to a person and the step ends; `/incident retry-setup` plans it again.
Only a worker holding the step's claim runs it, so two replicas never set one incident up at
once, and one that died is taken over by the engine.

L1's page does not wait for any of it: it is planned at declaration too, released by setup as
soon as the channel and its summary are there (or channel creation failed), and sent by
itself if setup is stuck; pages that went out by DM before the channel existed are copied
into it once it does (`escalation.copies.copy_page`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy import select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import BotContext
from app.domain.timeline import Kind
from app.logs import incident_context
from app.services import declared_from, engine, timeline
from app.services.engine import StepRun
from app.services.escalation.copies import plan_page_copies
from app.services.escalation.start import plan_escalation, release_first_pages
from app.services.setup import slack_steps as parts
from app.services.setup.no_channel import opens_channel, set_up_without_channel
from app.services.slack_errors import is_transient, slack_error
from app.store import incidents as store
from app.store.models import Incident, ScheduledStep, StepStatus
from app.ui.setup_notice import setup_delayed_text, setup_failed_text

log = logging.getLogger(__name__)

SETUP = "setup"
# Slack failing this many attempts in a row (about 70 seconds with the engine's backoff) is
# worth telling a person about, once; the step keeps being retried.
NOTICE_AFTER_ATTEMPTS = 4
REFUSED, DELAYED = "refused: ", "delayed: "
# The declaring process runs the setup at once; other workers may take it after this.
HELD_FOR_DECLARER = timedelta(seconds=2)
# How long `set_up` waits for a setup another worker is running (seconds, and how often it looks).
HOLDER_WAIT, HOLDER_POLL = 30.0, 0.05


@dataclass
class SetupResult:
    incident: Incident
    # Another worker holds the setup right now: nothing was done here.
    busy: bool = False
    # Why the setup is not complete (what the person was told), if it is not.
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.incident.setup_complete


# ------------------------------------------------------------------------------ planning


async def plan_setup(session: AsyncSession, incident: Incident) -> int | None:
    """In the declaring transaction: the setup step, due now, and the escalation (L1's page).

    The declaring process runs the setup at once (`set_up`); other workers may take it only
    after HELD_FOR_DECLARER, so a scheduler woken by the commit does not race the declarer.
    """
    now = incident.created_at
    step = await engine.schedule(session, incident, SETUP, now, now=now, key=SETUP)
    if step is not None:
        await session.execute(
            update(ScheduledStep)
            .where(ScheduledStep.id == step)
            .values(next_attempt_at=now + HELD_FOR_DECLARER)
            .execution_options(synchronize_session=False)
        )
    await plan_escalation(session, incident, now)
    return step


async def set_up(ctx: BotContext, incident_id: int) -> SetupResult:
    """Run the incident's setup now in this process, unless another worker holds it."""
    return await _run(ctx, incident_id, force=False)


async def retry_setup(ctx: BotContext, incident_id: int) -> SetupResult:
    """`/incident retry-setup`: run the setup now, even if it is waiting for its backoff or
    ended on a refusal (planned again then); parts already done are not repeated."""
    return await _run(ctx, incident_id, force=True)


async def _run(ctx: BotContext, incident_id: int, *, force: bool) -> SetupResult:
    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        incident = await session.get(Incident, incident_id)
        if incident is None:
            raise LookupError(f"no incident with id {incident_id}")
        if incident.setup_complete:
            return SetupResult(incident)
        step_ids = await _live_steps(session, incident_id)
        if not step_ids or force:
            # Planned again after a refusal (or for an incident declared before setup was a
            # step); keyed, so a live step is never doubled.
            planned = await engine.schedule(session, incident, SETUP, now, now=now, key=SETUP)
            step_ids = [planned] if planned is not None else step_ids
        # Due now: the declarer's first go (or, forced, past a backoff). A step held by a
        # worker is left to it.
        waiting = true() if force else ScheduledStep.attempts == 0
        await session.execute(
            update(ScheduledStep)
            .where(ScheduledStep.id.in_(step_ids), ScheduledStep.claimed_by.is_(None), waiting)
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
    report = await engine.run_now(ctx, step_ids)
    if report.claimed == 0:
        await _wait_for_holder(ctx, step_ids)
    async with ctx.sessions() as session:
        current = await session.get(Incident, incident_id)
        assert current is not None
    error = None if current.setup_complete else current.setup_error
    return SetupResult(
        current, busy=report.claimed == 0 and not current.setup_complete, error=error
    )


async def _wait_for_holder(ctx: BotContext, step_ids: list[int]) -> None:
    """Another worker (this process's scheduler, a replica) holds the setup: wait, bounded,
    until it lets go, so the caller answers with the outcome rather than "in progress"."""
    deadline = asyncio.get_running_loop().time() + HOLDER_WAIT
    while asyncio.get_running_loop().time() < deadline:
        async with ctx.sessions() as session:
            held = await session.execute(
                select(ScheduledStep.id).where(
                    ScheduledStep.id.in_(step_ids),
                    ScheduledStep.status == StepStatus.PENDING,
                    ScheduledStep.claimed_by.is_not(None),
                    ScheduledStep.next_attempt_at > ctx.clock.now(),
                )
            )
            if held.first() is None:
                return
        await asyncio.sleep(HOLDER_POLL)


async def _live_steps(session: AsyncSession, incident_id: int) -> list[int]:
    found = await session.execute(
        select(ScheduledStep.id).where(
            ScheduledStep.incident_id == incident_id,
            ScheduledStep.kind == SETUP,
            ScheduledStep.status == StepStatus.PENDING,
        )
    )
    return list(found.scalars())


async def resume_interrupted(ctx: BotContext) -> int:
    """Plan the setup of incidents left without a setup step (declared by an older version of
    the bot, mid-setup); the engine does the rest. Returns how many were planned."""
    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        incidents = await store.setups_without_step(session, SETUP)
        for incident in incidents:
            await engine.schedule(session, incident, SETUP, now, now=now, key=SETUP)
    for incident in incidents:
        log.info(
            "planned the setup of %s", incident.public_id, extra={"incident": incident.public_id}
        )
    return len(incidents)


# ------------------------------------------------------------------------------ the step


@dataclass
class _Outcome:
    """How the parts of one attempt ended."""

    failed: dict[str, BaseException] = field(default_factory=dict)  # worth a retry
    refused: dict[str, str] = field(default_factory=dict)  # needs a person

    async def attempt(self, part: str, work: Awaitable[None]) -> None:
        try:
            await work
        except parts.Refused as exc:
            self.refused[part] = exc.error
        except SlackApiError as exc:
            if is_transient(exc):
                self.failed[part] = exc
            else:
                self.refused[part] = slack_error(exc)
        except Exception as exc:  # noqa: BLE001 - a part must never lose the incident
            if not is_transient(exc):
                log.exception("setup part %s crashed", part)
            self.failed[part] = exc


async def run_setup(run: StepRun) -> None:
    """The `setup` step's handler (registered by `app.wiring`)."""
    ctx, incident = run.ctx, run.incident
    if incident.setup_complete:
        return
    # A retry follows a failure, a lost answer or a dead worker: what it posted may be there.
    look = run.step.attempts > 1
    outcome = _Outcome()
    with incident_context(incident.public_id):
        if not opens_channel(incident):
            # A ticket-only severity (`channel: false`): announced, the reporter told by DM.
            await set_up_without_channel(run, outcome.attempt, look=look)
            await _settle(run, outcome)
            return
        await outcome.attempt("create_channel", parts.create_channel(ctx, incident))
        channel = incident.channel_id
        if channel:
            await asyncio.gather(
                outcome.attempt("set_topic", parts.set_topic(ctx, incident, channel)),
                outcome.attempt("invite", parts.invite(ctx, incident, channel)),
                outcome.attempt("announce", parts.announce(ctx, incident, look=look)),
                _summary_and_pages(ctx, incident, channel, look, outcome),
            )
        else:
            # No channel for now: L1 is paged by DM at once, not after the channel's retries.
            await outcome.attempt("start_escalation", release_first_pages(ctx, incident))
        await _settle(run, outcome)
        if incident.channel_id:
            # Whichever worker finishes the setup (the declarer, the scheduler, a retry-setup)
            # points a reporter who declared elsewhere to the channel; it tells once.
            await declared_from.point_reporter(ctx, incident.id)


async def _summary_and_pages(
    ctx: BotContext, incident: Incident, channel: str, look: bool, outcome: _Outcome
) -> None:
    """The summary first, then (below it) the pages, the pin, the runbook and the recent
    deployments."""
    await outcome.attempt("post_summary", parts.post_summary(ctx, incident, channel, look=look))
    await asyncio.gather(
        outcome.attempt("start_escalation", _pages(ctx, incident)),
        outcome.attempt("pin_summary", parts.pin_summary(ctx, incident, channel)),
        outcome.attempt("post_runbook", parts.post_runbook(ctx, incident, look=look)),
        outcome.attempt("post_deployments", parts.post_deployments(ctx, incident, look=look)),
    )


async def _pages(ctx: BotContext, incident: Incident) -> None:
    """Page L1 now; copy into the channel the pages that went out before it existed."""
    await release_first_pages(ctx, incident)
    async with ctx.sessions.begin() as session:
        copies = await plan_page_copies(session, incident, ctx.clock.now())
    if copies:
        await engine.run_now(ctx, copies)


async def _settle(run: StepRun, outcome: _Outcome) -> None:
    ctx, incident = run.ctx, run.incident
    if outcome.refused:
        await _report(ctx, incident, outcome.refused, refused=True)
    if outcome.failed:
        if run.step.attempts >= NOTICE_AFTER_ATTEMPTS:
            failures = {part: slack_error(exc) for part, exc in outcome.failed.items()}
            await _report(ctx, incident, failures, refused=False)
        raise next(iter(outcome.failed.values()))  # the engine retries after a backoff
    if outcome.refused:
        run.cancel(REFUSED + ", ".join(outcome.refused))
        return

    async def complete(session: AsyncSession) -> None:
        await store.save_fields(
            session, incident.id, run.now, setup_complete=True, setup_error=None
        )

    run.after(complete)


async def _report(
    ctx: BotContext, incident: Incident, failures: dict[str, str], *, refused: bool
) -> None:
    """Save what failed, then tell a person, once per distinct failure."""
    summary = ", ".join(f"{part} ({error})" for part, error in failures.items())
    marker = (REFUSED if refused else DELAYED) + summary
    if incident.setup_error == marker:
        return  # told already
    log.error("setup of %s: %s", incident.public_id, marker)
    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        await store.save_fields(session, incident.id, now, setup_error=marker)
        if refused:
            timeline.record(
                session,
                incident,
                Kind.SETUP_FAILED,
                now=now,
                text=f"Slack setup incomplete: {summary}",
                data={"failures": failures},
            )
    incident.setup_error = marker
    text = (
        setup_failed_text(incident, failures) if refused else setup_delayed_text(incident, failures)
    )
    await tell_person(ctx, incident, text)


async def tell_person(ctx: BotContext, incident: Incident, text: str) -> None:
    """Say `text` to a person: the reporter by DM; for an incident the bot declared itself (from
    alerts), or a reporter who cannot be reached, the incident channel, else the broadcast one.
    Never the bot itself."""
    try:
        bot_user = await ctx.bot_user_id()
    except SlackApiError:
        bot_user = None
    places = [incident.reporter_id] if incident.reporter_id not in (bot_user, None, "") else []
    places += [c for c in (incident.channel_id, ctx.settings.incidents_channel) if c]
    for place in dict.fromkeys(places):
        try:
            await ctx.slack.chat_postMessage(channel=place, text=text)
            return
        except SlackApiError as exc:
            log.warning(
                "could not tell %s about %s: %s", place, incident.public_id, slack_error(exc)
            )
    log.error("nobody could be told about the setup of %s: %s", incident.public_id, text)


__all__ = [
    "SETUP",
    "SetupResult",
    "plan_setup",
    "resume_interrupted",
    "retry_setup",
    "run_setup",
    "set_up",
    "tell_person",
]
