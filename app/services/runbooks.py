"""Runbook checklists in incident channels, and the ticks people make on them.

Each tick is a timeline entry; the checklist message is redrawn from those entries after every
tick, so everyone sees the same state and the timeline is the record of who did what when.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from app.context import BotContext
from app.domain.runbooks import Runbook
from app.domain.timeline import Kind
from app.logs import incident_context
from app.services import deployments, timeline
from app.store import incidents as store
from app.store.models import Incident, TimelineEntry
from app.ui.runbooks import parse_runbook_block_id, runbook_checklist

log = logging.getLogger(__name__)


async def post_checklist(
    ctx: BotContext, incident: Incident, runbook: Runbook, *, actor_id: str | None = None
) -> str:
    """Post `runbook` in the incident channel (`/incident runbook`) and record it; returns the
    message ts. Setup posts the incident's own runbook itself, tagged (`slack_steps`)."""
    assert incident.channel_id is not None, "only an incident with a channel has a checklist"
    message = runbook_checklist(runbook)
    response = await ctx.slack.chat_postMessage(
        channel=incident.channel_id, text=message.text, blocks=message.blocks
    )
    ts = str(response["ts"])
    await record_posted(ctx, incident, runbook, ts, actor_id=actor_id)
    return ts


async def record_posted(
    ctx: BotContext, incident: Incident, runbook: Runbook, ts: str, *, actor_id: str | None = None
) -> None:
    """Record the checklist `ts` in the timeline.

    The incident's own runbook (its declared type) is remembered on the incident, so a retried
    setup does not post it twice.
    """
    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        if runbook.key == incident.incident_type and not incident.runbook_ts:
            await store.save_fields(session, incident.id, now, runbook_ts=ts)
            incident.runbook_ts = ts
        timeline.record(
            session,
            incident,
            Kind.RUNBOOK_POSTED,
            now=now,
            actor_id=actor_id,
            text=f"Runbook posted: {runbook.title}",
            data={"runbook": runbook.key, "message_ts": ts},
        )


async def checklist_state(
    ctx: BotContext, incident_id: int, runbook_key: str, message_ts: str
) -> dict[int, str]:
    """Step index -> who ticked it, replayed from the timeline (the last tick of a step wins)."""
    async with ctx.sessions() as session:
        entries = (
            await session.execute(
                select(TimelineEntry)
                .where(
                    TimelineEntry.incident_id == incident_id,
                    TimelineEntry.kind == Kind.RUNBOOK_STEP,
                )
                .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
            )
        ).scalars()
        done: dict[int, str] = {}
        for entry in entries:
            data = entry.data or {}
            if data.get("runbook") != runbook_key or data.get("message_ts") != message_ts:
                continue
            step = int(data.get("step", -1))
            if data.get("done"):
                done[step] = entry.actor_id or ""
            else:
                done.pop(step, None)
    return done


async def record_tick(
    ctx: BotContext,
    *,
    channel_id: str,
    message_ts: str,
    block_id: str,
    user_id: str,
    done: bool,
) -> Incident | None:
    """Record a (un)tick in the timeline, then redraw the checklist. None: not an incident's."""
    parsed = parse_runbook_block_id(block_id)
    runbook = ctx.runbooks.get(parsed[0]) if parsed else None
    if parsed is None or runbook is None or parsed[1] >= len(runbook.steps):
        log.warning("tick on an unknown runbook step %r", block_id)
        return None
    index = parsed[1]
    step = runbook.steps[index]
    now = ctx.clock.now()
    async with ctx.sessions.begin() as session:
        incident = await store.by_channel(session, channel_id)
        if incident is None:
            return None
        timeline.record(
            session,
            incident,
            Kind.RUNBOOK_STEP,
            now=now,
            actor_id=user_id,
            text=f"{'Done' if done else 'Not done'} ({runbook.title}): {step.step}",
            data={"runbook": runbook.key, "step": index, "done": done, "message_ts": message_ts},
        )
    with incident_context(incident.public_id):
        state = await checklist_state(ctx, incident.id, runbook.key, message_ts)
        async with ctx.sessions() as session:
            recent = await deployments.before_incident(session, incident)
        # Redrawn with the deployments it was posted with, so a tick keeps their links.
        message = runbook_checklist(runbook, state, recent, ctx.settings.tz)
        await ctx.slack.chat_update(
            channel=channel_id, ts=message_ts, text=message.text, blocks=message.blocks
        )
    return incident
