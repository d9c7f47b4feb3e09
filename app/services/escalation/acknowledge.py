"""Acknowledging a page: the first click stops the chain, and every page then says who."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from sqlalchemy import update

from app import metrics
from app.context import BotContext
from app.domain.escalation import PAGE, PAGE_BACKUP, PAGE_CHANNELS, TARGET_WARNING
from app.domain.formatting import human_minutes, short_time
from app.domain.lifecycle import Status
from app.domain.timeline import Kind
from app.runtime.slack_limits import Priority, slack_priority
from app.services import paging, timeline
from app.services.escalation.start import snapshot_policy
from app.services.slack_errors import slack_error
from app.services.summary import refresh_summary
from app.store import steps as step_store
from app.store.db import changed_rows
from app.store.models import Incident, StepMessage, StepStatus
from app.ui import escalation as eb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AckResult:
    incident: Incident
    acknowledged: bool  # True when this call did it; False if already done or resolved
    reply: str  # the answer for the person who asked
    paged: tuple[str, ...] = ()


async def acknowledge(ctx: BotContext, incident: Incident, user_id: str) -> AckResult:
    """Record who acknowledged and when, and stop the chain; the first of two clicks wins.

    The compare-and-set on `acknowledged_at IS NULL` decides the winner, so two people
    clicking at once get one acknowledgement and one "already acknowledged".
    """
    now = ctx.clock.now()
    tz = ctx.settings.tz
    policy = snapshot_policy(incident)
    async with ctx.sessions.begin() as session:
        won = await changed_rows(
            session,
            update(Incident)
            .where(
                Incident.id == incident.id,
                Incident.acknowledged_at.is_(None),
                Incident.resolved_at.is_(None),
                Incident.status != Status.RESOLVED,
            )
            .values(acknowledged_at=now, acknowledged_by=user_id, updated_at=now)
            .execution_options(synchronize_session=False),
        )
        current = await session.get(Incident, incident.id, populate_existing=True)
        assert current is not None
        if not won:
            if current.acknowledged_at is not None and current.acknowledged_by:
                reply = (
                    f"{current.public_id} was already acknowledged by <@{current.acknowledged_by}> "
                    f"at {short_time(current.acknowledged_at, tz)}."
                )
            else:
                reply = f"{current.public_id} is resolved; there is nothing to acknowledge."
            return AckResult(current, False, reply)
        await step_store.cancel_pending(
            session, incident.id, [PAGE, TARGET_WARNING, *PAGE_CHANNELS], now
        )
        await paging.on_acknowledged(session, ctx, current, now)
        sent = await step_store.for_incident(session, incident.id, [PAGE], [StepStatus.SENT])
        paged = tuple(
            f"{lvl.key} {lvl.name}"
            for lvl in policy.escalation.levels
            if any(
                s.level == lvl.key and (s.data.get("targets") or s.data.get("beyond")) for s in sent
            )
        )
        waited = now - current.started_at
        target = policy.severity(current.severity).response_target
        timeline.record(
            session,
            current,
            Kind.ACKNOWLEDGED,
            now=now,
            actor_id=user_id,
            text=f"Acknowledged after {human_minutes(waited)}",
            data={
                "time_to_acknowledge_seconds": int(waited.total_seconds()),
                "within_target": waited <= target,
                "levels_paged": [p.split()[0] for p in paged],
            },
        )
    metrics.acknowledged(current.severity, current.started_at, now)
    reply = (
        f"You acknowledged {current.public_id}, {human_minutes(waited)} after it was declared. "
        "Escalation stopped."
    )
    return AckResult(current, True, reply, paged)


async def announce_acknowledgement(ctx: BotContext, result: AckResult) -> None:
    """Tell the channel, and turn every page's button into who acknowledged and when."""
    incident = result.incident
    if not result.acknowledged or incident.acknowledged_at is None:
        return
    policy = snapshot_policy(incident)
    user = incident.acknowledged_by or ""
    waited = incident.acknowledged_at - incident.started_at
    note = eb.acknowledged_note(user, incident.acknowledged_at, waited, ctx.settings.tz)
    await settle_pages(ctx, incident, note)
    # The summary loses its Acknowledge button and shows who acknowledged.
    await refresh_summary(ctx, incident)
    if incident.channel_id:
        text = eb.acknowledged_text(incident, policy, user, waited, result.paged)
        try:
            with slack_priority(Priority.URGENT):
                await ctx.slack.chat_postMessage(
                    channel=incident.channel_id, text=text, blocks=eb.notice(text).blocks
                )
        except SlackApiError as exc:
            log.warning("could not announce ack of %s: %s", incident.public_id, slack_error(exc))


async def settle_pages(ctx: BotContext, incident: Incident, note: str) -> None:
    """Replace the Acknowledge buttons of an incident's page messages by `note` (best effort)."""
    async with ctx.sessions() as session:
        messages = await step_store.messages_of_kind(session, incident.id, (PAGE, PAGE_BACKUP))
    for message in messages:
        if error := await settle_message(ctx, message, note):
            log.warning("could not update page %s of %s: %s", message.ts, incident.public_id, error)


async def settle_message(ctx: BotContext, message: StepMessage, note: str) -> str | None:
    """Replace the buttons of one step message by `note`; Slack's error if it refused."""
    if not (message.channel and message.ts):
        return None
    settled = eb.settled(message.text, note)
    try:
        await ctx.slack.chat_update(
            channel=message.channel, ts=message.ts, text=settled.text, blocks=settled.blocks
        )
    except SlackApiError as exc:
        return slack_error(exc)
    return None
