"""The PagerDuty bridge, outbound: a page triggers a PagerDuty incident, and the bot's
acknowledgement and resolve are mirrored there (Events API v2, `app.channels.pagerduty`).

Every event is a `pagerduty_event` step, so it is sent once, retried on failure (429, 5xx,
a timeout: the engine's backoff) and never lost by a process that dies:

- **trigger**, planned with the Slack page of a level whose `channels` name `pagerduty` (one per
  page, keyed by it). Cancelled if the incident was acknowledged or resolved before it went:
  PagerDuty would page someone for an incident already answered.
- **acknowledge** and **resolve**, planned in the acknowledging and resolving transactions
  (`plan_mirror`), only for an incident that ever had a trigger: an incident that never reached
  PagerDuty costs no call. They always go (they are what PagerDuty must hear), unless no trigger
  ever left the bot. An acknowledgement or resolve that PagerDuty itself told the bot of
  (`services.pagerduty_news`, inside `told_by_pagerduty`) is not sent back.

The event's `dedup_key` is the incident's public id (INC-…): sending an event again after an
ambiguous failure (a 500 after PagerDuty processed it, a timeout) is harmless by design, since
PagerDuty applies it to the same alert (a second trigger is a log entry on the open alert, not
a second incident; a second acknowledge or resolve changes nothing). So no look-up is needed
before a retry. A refusal (400: a wrong routing key, an invalid event) is kept in the step and
said once on the incident's timeline; retrying would be refused again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels import pagerduty as events_api
from app.context import BotContext
from app.domain.lifecycle import label as status_label
from app.domain.policy import EscalationLevel
from app.domain.timeline import Kind
from app.services import engine, timeline
from app.services.engine import StepRun
from app.services.paging.common import answered
from app.store import steps as step_store
from app.store.models import Incident, ScheduledStep, StepStatus

log = logging.getLogger(__name__)

KIND = "pagerduty_event"
TRIGGER, ACKNOWLEDGE, RESOLVE = events_api.ACTIONS
# A mirror waits this long, again and again, while a trigger of its incident is being sent:
# an acknowledge that overtook its trigger would be dropped by PagerDuty, the trigger then paging.
IN_FLIGHT_WAIT = timedelta(seconds=5)
SOURCE = "incident-bot"
# PagerDuty's four severities, by the policy's severity number (P0, P1, P2, P3 and beyond).
PD_SEVERITIES = ("critical", "error", "warning", "info")

# True while the bot applies what PagerDuty told it: mirroring that back would only repeat it.
_told_by_pagerduty: ContextVar[bool] = ContextVar("told_by_pagerduty", default=False)


class PagerDutyUnavailable(ConnectionError):
    """PagerDuty could not take an event for now (429, 5xx, timeout, network): the step fails
    and the engine retries it with its backoff. A ConnectionError, so the engine logs it as the
    transient failure it is (one line), not as a crash with a traceback."""


@contextlib.contextmanager
def told_by_pagerduty() -> Iterator[None]:
    """Around an acknowledgement or resolve PagerDuty announced: plan no mirror of it."""
    token = _told_by_pagerduty.set(True)
    try:
        yield
    finally:
        _told_by_pagerduty.reset(token)


def pd_severity(severity: str) -> str:
    """P0 critical, P1 error, P2 warning, P3 (and any lower) info."""
    digits = severity[1:]
    rank = int(digits) if digits.isdigit() else 1
    return PD_SEVERITIES[min(rank, len(PD_SEVERITIES) - 1)]


async def plan(
    session: AsyncSession,
    ctx: BotContext,
    incident: Incident,
    level: EscalationLevel,
    targets: Sequence[str],
    page_step_id: int,
    now: datetime,
) -> None:
    """In the transaction marking a Slack page sent: trigger PagerDuty, once per page."""
    if not ctx.settings.pagerduty_configured:
        return  # the channel is off (`incident-bot check` says so); the other channels page
    await engine.schedule(
        session,
        incident,
        KIND,
        now,
        {"action": TRIGGER, "level": level.key, "page_step": page_step_id},
        now=now,
        level=level.key,
        key=f"{KIND}:{TRIGGER}:{page_step_id}",
    )


async def plan_mirror(
    session: AsyncSession, ctx: BotContext, incident: Incident, action: str, now: datetime
) -> None:
    """In the acknowledging or resolving transaction: tell PagerDuty too, if it ever heard of
    this incident (one query; nothing for an incident no level sent to PagerDuty)."""
    if action not in (ACKNOWLEDGE, RESOLVE):
        raise ValueError(f"PagerDuty mirrors acknowledge or resolve, not {action!r}")
    if _told_by_pagerduty.get():
        return
    triggers = await _triggers(session, incident.id)
    if not any(step.status != StepStatus.CANCELLED for step in triggers):
        return
    await engine.schedule(
        session,
        incident,
        KIND,
        now,
        {"action": action},
        now=now,
        # One per acknowledgement or resolve: a resolve after a reopen is a new one.
        key=f"{KIND}:{action}:{now:%Y%m%dT%H%M%S%f}",
    )


async def send(run: StepRun) -> None:
    """Send the step's event to PagerDuty (see the module docstring for when it does not)."""
    action = str(run.data.get("action") or TRIGGER)
    settings = run.ctx.settings
    routing_key = settings.pagerduty_routing_key
    if not routing_key:
        run.cancel("PagerDuty is not configured (PAGERDUTY_ROUTING_KEY)")
        return
    if action == TRIGGER:
        if answered(run):  # acknowledged or resolved meanwhile: nobody needs paging
            # An earlier attempt that failed may have reached PagerDuty: its mirrors must go.
            run.data["maybe_sent"] = run.step.attempts > 1
            return
    elif not await _trigger_went(run):
        return
    event = await _event(run, routing_key, action)
    try:
        accepted = await events_api.enqueue(settings.pagerduty_events_url, event)
    except events_api.PagerDutyError as exc:
        if exc.transient:
            log.warning("PagerDuty %s for %s: %s", action, run.incident.public_id, exc)
            raise PagerDutyUnavailable(str(exc)) from exc
        await _refused(run, action, exc)
        return
    run.data.update(dedup_key=accepted.dedup_key, answer=accepted.message)


async def _triggers(session: AsyncSession, incident_id: int) -> list[ScheduledStep]:
    steps = await step_store.for_incident(session, incident_id, [KIND])
    return [s for s in steps if (s.data or {}).get("action", TRIGGER) == TRIGGER]


async def _trigger_went(run: StepRun) -> bool:
    """A mirror goes if a trigger went or may have (a try that failed ambiguously); waits while
    one is being sent; is cancelled if every trigger was cancelled before it was tried."""
    async with run.ctx.sessions() as session:
        triggers = await _triggers(session, run.incident.id)
    if any(t.status == StepStatus.PENDING and t.claimed_by is not None for t in triggers):
        run.defer(run.now + IN_FLIGHT_WAIT, "a trigger of this incident is being sent")
        return False
    if any(_may_have_gone(t) for t in triggers):
        return True
    run.cancel("PagerDuty never heard of this incident")
    return False


def _may_have_gone(trigger: ScheduledStep) -> bool:
    """Sent; or tried, failed, and maybe taken by PagerDuty all the same (an attempt is counted
    when the step is claimed, so a pending trigger that was tried has failed at least once)."""
    if trigger.status == StepStatus.CANCELLED:
        return bool((trigger.data or {}).get("maybe_sent"))
    return trigger.status == StepStatus.SENT or trigger.attempts > 0


async def _event(run: StepRun, routing_key: str, action: str) -> dict[str, Any]:
    incident = run.incident
    if action != TRIGGER:
        return events_api.alert_event(routing_key, action, incident.public_id)
    title = "private incident" if incident.private else incident.title
    link = await _channel_url(run)
    details: dict[str, Any] = {
        "severity": run.policy.severity(incident.severity).title,
        "status": status_label(incident.status),
        "level": run.step.level,
    }
    if link:
        details["channel"] = link
    channel_text = f"#{incident.channel_name}" if incident.channel_name else "Slack channel"
    return events_api.alert_event(
        routing_key,
        TRIGGER,
        incident.public_id,
        summary=f"[{incident.severity}] {incident.public_id} {title}",
        severity=pd_severity(incident.severity),
        source=SOURCE,
        custom_details=details,
        links=[(link, channel_text)] if link else (),
    )


async def _channel_url(run: StepRun) -> str | None:
    """The incident channel's address, for the responder who opens PagerDuty's incident."""
    channel = run.incident.channel_id
    if not channel:
        return None
    try:
        base = await run.ctx.workspace_url()
    except SlackApiError:
        return None  # the event matters more than its link
    return f"{base.rstrip('/')}/archives/{channel}"


async def _refused(run: StepRun, action: str, exc: events_api.PagerDutyError) -> None:
    """PagerDuty refused the event for good: keep why in the step, and say it once."""
    reason = "; ".join(exc.errors) or str(exc)
    run.data.update(error=str(exc)[:500], status=exc.status)
    run.cancel(f"PagerDuty refused the {action}")
    what = {TRIGGER: "trigger", ACKNOWLEDGE: "acknowledgement", RESOLVE: "resolve"}[action]
    text = f"PagerDuty refused the {what} event of {run.incident.public_id}: {reason}"
    if action == TRIGGER:
        text += ". Nobody was paged through PagerDuty; check PAGERDUTY_ROUTING_KEY."
    log.error("%s", text)
    async with run.ctx.sessions.begin() as session:
        timeline.record(
            session,
            run.incident,
            Kind.STEP_FAILED,
            now=run.now,
            text=text,
            data={
                "step_id": run.step.id,
                "kind": KIND,
                "action": action,
                "status": exc.status,
                "errors": list(exc.errors),
            },
        )


__all__ = ["KIND", "PagerDutyUnavailable", "plan", "plan_mirror", "send", "told_by_pagerduty"]
