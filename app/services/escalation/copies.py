"""The `page_copy` step: a page that went out by DM before its incident had a channel is
posted in the channel once it exists (setup plans the copies, `plan_page_copies`), once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.escalation import PAGE
from app.services import engine
from app.services.engine import StepRun
from app.services.engine.run import STEP_MESSAGE_EVENT
from app.services.escalation import invites
from app.services.escalation.start import CHANNEL
from app.services.slack_errors import is_transient, slack_error
from app.services.slack_messages import find_tagged, metadata
from app.store.models import Incident, ScheduledStep, StepMessage, StepStatus
from app.ui import escalation as eb
from app.ui.setup_notice import copied_page_text

log = logging.getLogger(__name__)

PAGE_COPY = "page_copy"  # a page sent by DM, posted in the channel once it exists
COPY_WAIT = timedelta(seconds=5)  # a copy waits this long for a page still being sent


async def plan_page_copies(session: AsyncSession, incident: Incident, now: datetime) -> list[int]:
    """The incident's channel exists now: plan a copy there of every page that may have gone
    out without it (sent, or claimed before the channel was saved); the copies' ids.

    Run after the channel id is committed: a page claimed later reads the incident with its
    channel and posts there itself. Keyed, so planning again (a retried setup) adds nothing.
    """
    pages = await session.execute(
        select(ScheduledStep).where(
            ScheduledStep.incident_id == incident.id,
            ScheduledStep.kind == PAGE,
            ScheduledStep.status.in_([StepStatus.SENT, StepStatus.PENDING]),
            ScheduledStep.attempts > 0,
            ~select(StepMessage.id)
            .where(StepMessage.step_id == ScheduledStep.id, StepMessage.recipient == CHANNEL)
            .exists(),
        )
    )
    copies = []
    for page in pages.scalars():
        if page.status == StepStatus.SENT and page.data.get("skipped"):
            continue
        copy = await engine.schedule(
            session,
            incident,
            PAGE_COPY,
            now,
            {"page": page.id},
            now=now,
            key=f"{PAGE_COPY}:{page.id}",
        )
        if copy is not None:
            copies.append(copy)
    return copies


async def copy_page(run: StepRun) -> None:
    """Post a page that went out by DM before the channel existed in the channel, once.

    The copy is saved as the page's own channel message (so acknowledging settles its button
    like any page's) and carries the page's metadata, so a retry after a lost answer finds it.
    """
    channel = run.incident.channel_id
    page_id = int(run.data["page"])
    async with run.ctx.sessions() as session:
        page = await session.get(ScheduledStep, page_id)
        done = await session.execute(
            select(StepMessage.id).where(
                StepMessage.step_id == page_id, StepMessage.recipient == CHANNEL
            )
        )
        already = done.first() is not None
    if page is not None and page.status == StepStatus.PENDING and not already:
        # Still being sent (or retried): its next attempt may post in the channel itself.
        run.defer(run.now + COPY_WAIT, "the page is still being sent")
        return
    text = (page.data or {}).get("page_text") if page is not None else None
    if not channel or page is None or page.status != StepStatus.SENT or not text or already:
        run.cancel("nothing to copy")
        return
    tag = metadata(STEP_MESSAGE_EVENT, {"step": page_id, "recipient": CHANNEL})
    found = await find_tagged(run.ctx.slack, channel, tag) if run.step.attempts > 1 else None
    copy = copied_page_text(text, page.sent_at, run.ctx.settings.tz)
    if found is not None:
        ts = str(found["ts"])
    else:
        answered = run.incident.acknowledged_at is not None or not run.incident.is_open
        message = eb.notice(copy) if answered else eb.with_ack_button(copy, run.incident)
        try:
            posted = await run.ctx.slack.chat_postMessage(
                channel=channel, text=copy, blocks=message.blocks, metadata=tag
            )
        except SlackApiError as exc:
            if is_transient(exc):
                raise  # retried; the retry looks for it first
            run.cancel(f"refused: {slack_error(exc)}")  # archived meanwhile, say: the DMs stand
            return
        ts = str(posted["ts"])
    saved = StepMessage(
        step_id=page_id,
        incident_id=run.incident.id,
        recipient=CHANNEL,
        channel=channel,
        ts=ts,
        text=copy,
        created_at=run.now,
    )
    targets = [str(u) for u in (page.data or {}).get("targets") or []]
    try:
        async with run.ctx.sessions.begin() as session:
            session.add(saved)
            await session.flush()
            if targets:  # the people paged by DM come into the channel, now that there is one
                await invites.plan_invite(
                    run.ctx, session, run.incident, targets, page_id, run.now, page.level
                )
    except IntegrityError:
        log.info("page %s already had its channel copy", page_id)
