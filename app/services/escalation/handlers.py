"""Sending escalation steps when they fall due: pages, the response-target warning, and the
update reminders. `app.wiring` registers each with the engine under its kind."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import datetime

from slack_sdk.errors import SlackApiError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app import metrics
from app.domain import escalation as plan
from app.domain.durations import format_duration
from app.domain.formatting import human_minutes
from app.domain.timeline import Kind
from app.services import timeline
from app.services.engine import StepRun
from app.services.escalation.start import CHANNEL, schedule_page, schedule_update_reminder
from app.services.escalation.targets import paged_levels, resolve_targets
from app.services.slack_errors import slack_error
from app.store.models import Incident, StepMessage
from app.ui import escalation as eb

log = logging.getLogger(__name__)


def _answered(run: StepRun) -> bool:
    """Cancel the step when its incident is resolved or acknowledged; whether it was."""
    if not run.incident.is_open:
        run.cancel("resolved")
        return True
    if run.incident.acknowledged_at is not None:
        run.cancel("acknowledged")
        return True
    return False


async def _notice(run: StepRun, text: str) -> None:
    """Say `text` in the incident channel, if it has one."""
    if run.incident.channel_id:
        await run.post(CHANNEL, run.incident.channel_id, text, eb.notice(text).blocks)


async def send_page(run: StepRun) -> None:
    incident, policy = run.incident, run.policy
    level_key = run.step.level or ""
    if _answered(run):
        return
    if not plan.in_chain(policy, incident.severity, level_key):
        run.cancel(f"{level_key} is above the cap of {incident.severity}")
        return
    level = policy.level(level_key)
    next_level = plan.level_after(policy, incident.severity, level_key)
    targets, problems = await resolve_targets(run, level.notify)
    run.data.update(targets=targets, problems=problems)

    paged_before = [p for p in await paged_levels(run) if p.key != level.key]
    if not targets:
        await _notice(run, eb.empty_level_text(incident, policy, level, next_level, problems))
        run.data["skipped"] = True

        async def skipped(session: AsyncSession) -> None:
            timeline.record(
                session,
                incident,
                Kind.ESCALATION_SKIPPED,
                now=run.now,
                text=f"{level.key} {level.name} had no one to page",
                data={"level": level.key, "problems": problems},
            )
            if next_level is not None:
                paged = [p.key for p in paged_before]
                await schedule_page(session, incident, next_level, run.now, run.now, paged)

        run.after(skipped)
        return

    text = eb.page_text(
        incident,
        policy,
        level,
        targets,
        paged_before=paged_before,
        next_level=next_level,
        waited=run.now - incident.started_at,
        problems=problems,
        late_by=run.lateness if run.late else None,
    )
    # The channel page, the invitation and the DMs do not depend on each other: one round.
    sends: list[Awaitable[StepMessage | None]] = []
    if incident.channel_id:
        page = eb.with_ack_button(text, incident)
        sends += [
            run.post(CHANNEL, incident.channel_id, text, page.blocks),
            _invite(run, incident.channel_id, targets),
        ]
    dm = eb.dm_text(incident, policy, level)
    sends += [run.post(user, user, dm, eb.with_ack_button(dm, incident).blocks) for user in targets]
    # Wait for every send before failing the step: a retry must never race a send in flight.
    results = await asyncio.gather(*sends, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]

    async def paged(session: AsyncSession) -> None:
        late = f" (sent {human_minutes(run.lateness)} late)" if run.late else ""
        timeline.record(
            session,
            incident,
            Kind.PAGED,
            now=run.now,
            text=f"Paged {level.key} {level.name}{late}",
            data={"level": level.key, "targets": targets, "problems": problems, "late": run.late},
        )
        metrics.page_sent(level.key)
        following = plan.next_page_due(policy, incident.severity, level.key, run.now)
        if following is not None:
            paged = [p.key for p in paged_before] + [level.key]
            await schedule_page(session, incident, following[0], following[1], run.now, paged)

    run.after(paged)


async def _invite(run: StepRun, channel: str, users: list[str]) -> None:
    """Bring the paged people into the incident channel (private ones cannot join alone)."""
    try:
        await run.ctx.slack.conversations_invite(channel=channel, users=",".join(users), force=True)
        run.ctx.directory.forget(channel)
    except SlackApiError as exc:
        if exc.response.get("error") != "already_in_channel":
            log.warning(
                "could not invite paged people to %s: %s",
                run.incident.public_id,
                slack_error(exc),
            )


async def warn_target_missed(run: StepRun) -> None:
    incident, policy = run.incident, run.policy
    if _answered(run):
        return
    deadline = plan.response_deadline(policy, incident.severity, incident.started_at)
    if run.now < deadline:
        run.defer(deadline, "the response target moved with the severity")
        return
    levels = await paged_levels(run)
    await _notice(run, eb.target_warning_text(incident, policy, levels, run.ctx.settings.tz))

    async def breached(session: AsyncSession) -> None:
        await session.execute(
            update(Incident)
            .where(Incident.id == incident.id, Incident.response_breached_at.is_(None))
            .values(response_breached_at=deadline, updated_at=run.now)
        )
        target = policy.severity(incident.severity).response_target
        timeline.record(
            session,
            incident,
            Kind.RESPONSE_TARGET_MISSED,
            now=run.now,
            occurred_at=deadline,
            text=f"Not acknowledged within the {incident.severity} response target "
            f"({format_duration(target)})",
            data={"severity": incident.severity, "target_seconds": int(target.total_seconds())},
        )

    run.after(breached)


async def remind_update(run: StepRun) -> None:
    incident, policy = run.incident, run.policy
    if not incident.is_open:
        run.cancel("resolved")
        return
    every = policy.severity(incident.severity).update_every
    if every is None:
        run.cancel(f"{incident.severity} has no update cadence")
        return
    since = datetime.fromisoformat(run.data.get("since") or incident.started_at.isoformat())
    since_update = bool(run.data.get("since_update"))
    message = eb.update_reminder(
        incident, policy, since=since, since_update=since_update, now=run.now
    )
    if incident.channel_id:
        await run.post(CHANNEL, incident.channel_id, message.text, message.blocks)
    seq = int(run.data.get("seq") or 1)

    async def next_reminder(session: AsyncSession) -> None:
        await schedule_update_reminder(
            session,
            incident,
            seq + 1,
            run.now + every,
            since,
            since_update=since_update,
            now=run.now,
        )

    run.after(next_reminder)
